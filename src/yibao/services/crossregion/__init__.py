"""Cross-region filings and family grants."""
