"""ASN package."""
