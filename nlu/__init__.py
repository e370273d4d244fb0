"""Vietnamese understanding: normalisation, redaction, entities and intents."""
