"""Printouts (reportlab): receipts, notices, ledgers, postings (issue: printouts). Builds on station.services."""
