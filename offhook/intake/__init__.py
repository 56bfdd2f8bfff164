"""Data coming in from outside: address-book imports (CSV, vCard), the demo firm, and synthetic
CRMs of any size for load tests."""
