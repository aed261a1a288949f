"""Cache a user-independent fragment of a page under a key the view computed.

Django's `{% cache %}` tag hashes its vary-on values but takes a fixed timeout
and fragment name; this one takes the key straight from the model
(`Runbook.page_cache_key`), so a stale fragment is never read: any change
makes a new key, and old entries simply expire.

A cached fragment may still hold per-request parts:
- `{% csrf_token %}` anywhere inside it (included templates too) is stored as
  a stand-in and swapped for this request's token when served;
- `{% perrequest %}…{% endperrequest %}`, written directly in the fragment's
  template (not in an include, not in a loop), is stored as a marker and
  rendered afresh on every request, with the page's own context (the watch
  button, a panel with its own cache).

`versions=KEYS` names cache entries that other writers bump (the contacts
version): the fragment is stored with the values they had when it was
rendered and read together with them in one round trip, so a bump makes the
next view render afresh without a separate read first.

Stand-in and markers derive from SECRET_KEY: the same on every web node
sharing the cache, and not something a runbook's text can guess.
"""

import time
from functools import cache as memoize
from typing import Any

from django import template
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.safestring import mark_safe

register = template.Library()

FRAGMENT_TIMEOUT = 60 * 60
FILLING = "_cachedfragment_filling"
# A context variable the view may set: a callable returning what only a cold
# render needs (the joined rows, the lazy querysets), so a warm page skips it.
FILL_CONTEXT = "fragment_fill_context"


@memoize
def _secret_marker(name: str) -> str:
    return "fragment-" + salted_hmac("runbooks.cachedfragment", name).hexdigest()[:24]


def csrf_standin() -> str:
    return _secret_marker("csrf")


class PerRequestNode(template.Node):
    def __init__(self, nodelist: template.NodeList):
        self.nodelist = nodelist
        self.marker = ""  # set by the enclosing CachedFragmentNode

    def render(self, context: Any) -> str:
        if self.marker and context.get(FILLING):
            return f"<!--{self.marker}-->"
        return self.nodelist.render(context)


class CachedFragmentNode(template.Node):
    def __init__(
        self,
        nodelist: template.NodeList,
        parts: list[template.base.FilterExpression],
        versions: template.base.FilterExpression | None = None,
    ):
        self.nodelist, self.parts, self.versions = nodelist, parts, versions
        self.holes = [
            n for n in nodelist.get_nodes_by_type(PerRequestNode) if isinstance(n, PerRequestNode)
        ]
        for number, hole in enumerate(self.holes):
            hole.marker = _secret_marker(f"hole-{number}")

    def render(self, context: Any) -> str:
        key = ":".join(str(part.resolve(context)) for part in self.parts)
        version_keys = list(self.versions.resolve(context)) if self.versions else []
        found = cache.get_many([key, *version_keys])
        missing = [name for name in version_keys if found.get(name) is None]
        if missing:
            # A missing version starts at a fresh value (as its owner would), never an old one.
            for name in missing:
                cache.add(name, time.time_ns(), None)
            found.update(cache.get_many(missing))
        # Read before rendering: a bump during the render leaves a mismatch, so the next view renders again.
        versions = [found.get(name) for name in version_keys]
        entry = found.get(key)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == versions:
            html = entry[1]
        else:
            prepare = context.get(FILL_CONTEXT)
            fill = prepare() if callable(prepare) else {}
            with context.push(**fill, **{FILLING: True, "csrf_token": csrf_standin()}):
                html = self.nodelist.render(context)
            cache.set(key, (versions, html), FRAGMENT_TIMEOUT)
        for hole in self.holes:
            marker = f"<!--{hole.marker}-->"
            if marker in html:
                html = html.replace(marker, hole.nodelist.render(context))
        if csrf_standin() in html:
            html = html.replace(csrf_standin(), str(context.get("csrf_token", "")))
        return mark_safe(html)  # noqa: S308 -- rendered by this template, already escaped


@register.tag
def cachedfragment(parser: template.base.Parser, token: template.base.Token) -> CachedFragmentNode:
    """{% cachedfragment KEY "part" [VARY …] [versions=KEYS] %}: VARY values (e.g. a role flag) join the key."""
    bits = token.split_contents()
    versions = None
    if bits[-1].startswith("versions="):
        versions = parser.compile_filter(bits.pop()[len("versions=") :])
    if len(bits) < 3:
        raise template.TemplateSyntaxError(
            'usage: {% cachedfragment KEY "part" [VARY …] [versions=KEYS] %}…{% endcachedfragment %}'
        )
    nodelist = parser.parse(("endcachedfragment",))
    parser.delete_first_token()
    return CachedFragmentNode(nodelist, [parser.compile_filter(bit) for bit in bits[1:]], versions)


@register.tag
def perrequest(parser: template.base.Parser, token: template.base.Token) -> PerRequestNode:
    """{% perrequest %}…{% endperrequest %}: rendered for each request inside a cached fragment."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("{% perrequest %} takes no arguments")
    nodelist = parser.parse(("endperrequest",))
    parser.delete_first_token()
    return PerRequestNode(nodelist)
