"""Per-student HTML feedback (written later in this issue)."""
