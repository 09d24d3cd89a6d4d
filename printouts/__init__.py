"""Printouts (reportlab, A4): receipts with a verifiable QR, one-time notices, proxy
authorizations, and long ledger tables such as the 代办 register.

Each document is one module with one public function ``build(data, path_or_file)``; the data
comes from ``printouts.data``, already masked. Printing hands the PDF to the system's printer
(``printouts.printing``). Builds on ``station.services``; the station never imports this.
"""
