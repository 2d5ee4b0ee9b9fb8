"""Password hashing (argon2id) and the strength rule for new passwords.

These functions are CPU-bound and block for tens of milliseconds: the server
never calls them on its event loop (server/signin.py runs them in a bounded,
low-priority pool; creating a person hashes in a thread).

Parameters, chosen deliberately: argon2id, memory 46 MiB (47,104 KiB), one
pass, one lane: OWASP's first recommended argon2id setting, which RFC 9106
counts as equivalent to its "uniformly safe" 64 MiB x 3 passes for an attacker
with GPUs. One check took 69 ms of one core on the 2-core development machine
(argon2-cffi 25, median of 7), against 200 ms for argon2-cffi's defaults
(64 MiB, 3 passes, 4 lanes, which this build computes on one thread anyway):
sign-in throughput per worker triples while a stolen hash stays as costly to
attack. Every hash carries its parameters, so hashes made with other ones still
verify; `needs_rehash` tells the sign-in to store a fresh hash on success.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

TIME_COST = 1
MEMORY_COST_KIB = 47_104
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB,
                         parallelism=PARALLELISM, type=Type.ID)
# Verified against when the username is unknown, so a wrong username costs as
# much time as a wrong password and does not reveal which accounts exist.
_DUMMY = _hasher.hash("pantau-dummy-password")

MIN_LENGTH = 8
MAX_LENGTH = 200
# zxcvbn's scale: 0-2 fall to an online or throttled guesser, 3 "safely
# unguessable: moderate protection from an offline slow-hash scenario".
MIN_SCORE = 3
# zxcvbn's matching grows faster than linearly with length, so it refuses to
# score more than 72 characters; a longer password is judged by its first 72.
_SCORED_CHARS = 72


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password must have at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash that just verified was made with other parameters than ours."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


def password_problem(password: str, *, user_inputs: list[str] | tuple[str, ...] = ()
                     ) -> str | None:
    """Why a new password is refused (one sentence for the person choosing it), or None.

    Too short, too long, or easy to guess: common passwords (`password`,
    `12345678`), keyboard walks, dates, repeats, and words from `user_inputs`
    (the username and full name) score below MIN_SCORE on zxcvbn's estimate.
    """
    if len(password) < MIN_LENGTH:
        return f"password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must have at most {MAX_LENGTH} characters"
    inputs = [w for text in user_inputs
              for w in (text.lower(), *text.lower().replace(".", " ").split()) if w]
    verdict = zxcvbn(password[:_SCORED_CHARS], user_inputs=inputs)
    if verdict["score"] >= MIN_SCORE:
        return None
    feedback = verdict["feedback"]
    why = feedback.get("warning") or ""
    hint = " ".join(feedback.get("suggestions") or []) or "Use three or four unrelated words."
    return " ".join(part for part in ("password is too easy to guess.", why, hint) if part)
