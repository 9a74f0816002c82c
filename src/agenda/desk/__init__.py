"""The editors' desk: staff log in, edit the schedule in a draft, preview it, publish it.

Served under /desk/ by the same app as the site (`register(app)`); off until an
editor exists (`agenda editor add`). Nothing here renders the public site: the
preview is the site's own builder run on the draft.
"""

from __future__ import annotations

from agenda.desk.views import register

__all__ = ["register"]
