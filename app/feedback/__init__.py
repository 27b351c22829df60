"""The feedback store: users' corrected drawings in SQLite."""
