"""Ledgers (台账): subsidies, relief, infrastructure, the 代办 register (issue: ledgers). Builds on station.services."""
