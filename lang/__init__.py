"""One message catalogue for every surface: the console, wall-term, the wall page,
reports, the public form and the department page.

The messages live in gettext PO files (`locales/{en,id}/LC_MESSAGES/pantau.po`),
read with Babel, so translators can use ordinary PO tools and plural forms follow
each language's rules. Message ids are keys (`queue.title`), so a caller names what
it shows, not the English wording. This package imports neither `server` nor `tui`:
both may import it.
"""

from lang.catalogue import (
    DEFAULT,
    LANGUAGES,
    from_accept_language,
    keys,
    normalise,
    plural_forms,
    plural_keys,
    section,
    text,
)

__all__ = ["DEFAULT", "LANGUAGES", "from_accept_language", "keys", "normalise",
           "plural_forms", "plural_keys", "section", "text"]
