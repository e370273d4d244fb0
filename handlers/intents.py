"""The intent names the dialogue understands (fixed; nlu/ classifies into exactly these)."""

INTENTS: frozenset[str] = frozenset(
    {
        "greet", "goodbye", "thanks", "affirm", "deny", "cancel", "help", "report_scam", "check_call",
        "check_link", "money_lost", "shared_credentials", "ask_official_app", "ask_scam_signs", "ask_contact",
        "ask_privacy", "talk_to_officer", "out_of_scope",
    }
)

# Intents that interrupt any form: the urgent path must never be blocked by a question in progress.
INTERRUPTING: frozenset[str] = frozenset({"cancel", "help", "money_lost", "shared_credentials"})
