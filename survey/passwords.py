"""Password policy for Caf users: long enough, and not guessable from the usual lists and patterns.

zxcvbn (Dropbox's estimator) knows the common passwords, keyboard walks,
repeats, sequences and dates; we accept what it rates "safely unguessable"
(score 3 of 4 or more) and explain in French what made a password weak.
zxcvbn (12 MiB with its word lists) is imported on the first password judged:
most processes never judge one (bench/RESULTS-caf.md, memory).
"""
import re

MIN_LENGTH = 12
MIN_SCORE = 3
# zxcvbn refuses longer input; the first 72 characters are what it can judge.
JUDGED_LENGTH = 72

_PATTERNS = {
    "repeat": "il répète les mêmes caractères",
    "sequence": "il suit une suite (« abcd », « 1234 »)",
    "spatial": "il suit les touches du clavier (« azerty »)",
    "dictionary": "il contient un mot de passe courant ou un mot du dictionnaire",
    "date": "il contient une date",
    "regex": "il contient une année",
}


def password_problem(password: str, personal=()) -> str | None:
    """None if ``password`` is acceptable, else a French message saying why not and what to do."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères."
    texts = [text.lower() for text in personal if text]
    words = texts + [part for text in texts for part in [text.split("@")[0], *re.split(r"[^\w]+", text)] if len(part) > 2]
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:JUDGED_LENGTH], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return None
    reasons = list(dict.fromkeys(_PATTERNS[m["pattern"]] for m in result["sequence"] if m["pattern"] in _PATTERNS))
    if any(m["pattern"] == "dictionary" and m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
        reasons.insert(0, "il reprend votre nom ou votre adresse électronique")
    why = f" : {', '.join(reasons[:2])}" if reasons else ""
    return (f"Ce mot de passe est trop facile à deviner{why}. Choisissez par exemple trois ou quatre mots "
            "sans rapport entre eux, séparés par des espaces.")
