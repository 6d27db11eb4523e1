"""Shared CTR building blocks, each tested against a brute-force form of its formula."""
