"""Feedback: complaints as tickets, their deadlines and escalation, and the Chinese text
analysis (sentiment, topics) of what people write (issue 22). See docs/feedback.md.

May use: ``people`` (the personal-data keys: citizens' phones, the sealed outbox).
"""
