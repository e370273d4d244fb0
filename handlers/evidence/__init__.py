"""Evidence the bot can read: screenshots (OCR), QR codes (links, numbers, VietQR payments), APK files and
forwarded messages.

Reading runs in a bounded pool of worker processes (:mod:`handlers.evidence.pool`), never on the event loop;
what was read becomes a :class:`handlers.evidence.model.Reading` (JSON-safe, already redacted) that the
dialogue shows ("Tôi đọc được: …"), checks with the check engine and uses to pre-fill a report.
Nothing here opens a link or runs an app.
"""
