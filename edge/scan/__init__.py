"""Scan verification: may this scanned item be sold?"""
