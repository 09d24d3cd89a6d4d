"""Ledgers (台账): subsidies (涉农补贴), relief (民政救济), infrastructure (农村基础设施建设), and
the 代办 register derived from the cases.

``ledgers.rules`` is pure (column guessing, row checks, the hash chain); ``ledgers.sheets`` reads
and writes .xlsx/.csv; ``ledgers.service`` is the write path on the station's store. Money is
integer fen in the store and ``Decimal`` in between, never a float (see ``station.core.money``).
"""
