"""Panic alarms (issue #5): signed devices, the alarm lifecycle, escalation and the
contact outbox. Each module owns one rule; route handlers stay thin."""
