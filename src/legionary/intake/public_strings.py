"""Strings of the shared templates that public pages show, so that intake's catalogue carries them.

The project catalogue (``src/legionary/locale``) has only the staff languages (uk, ru); the public
pages are also in Belarusian and Georgian, and only intake's catalogue has those. The public base
(``templates/public_base.html`` and ``_page.html``), its components (exit this page, language
navigation) and the error pages use the strings below; listing them here puts them in intake's
catalogue, where ``make messages`` keeps them and ``tests/core/test_translations.py`` checks them.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

PUBLIC_BASE = [
    gettext_noop("Skip to main content"),
    gettext_noop("Service menu"),
    gettext_noop("Pages"),
    gettext_noop("Language"),
    gettext_noop("Apply"),
    gettext_noop("Check your application"),
    gettext_noop("Staff sign in"),
    gettext_noop("Emergency"),
    gettext_noop("Exit this page"),
    gettext_noop("Exit this page expired."),
    gettext_noop("Loading."),
    gettext_noop("Shift, press 1 more time to exit."),
    gettext_noop("Shift, press 2 more times to exit."),
]
ERROR_PAGES = [
    gettext_noop("Not found"),
    gettext_noop("Not allowed"),
    gettext_noop("Bad request"),
    gettext_noop("Temporarily unavailable"),
    gettext_noop("Something went wrong"),
    gettext_noop("There is nothing here, or you may not see it."),
    gettext_noop("The form had expired or did not come from this site. Go back, reload the page and try again."),
    gettext_noop("Your account may not open this page."),
    gettext_noop("The request could not be understood. Go back and check what you sent."),
    gettext_noop("The service cannot reach its database. Nothing you sent was stored; try again in a minute."),
    gettext_noop("The error has been noted. Nothing you sent was stored; try again later."),
]
