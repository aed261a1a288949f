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

Stand-in and markers derive from SECRET_KEY: the same on every web node
sharing the cache, and not something a runbook's text can guess.
"""

from functools import cache as memoize
from typing import Any

from django import template
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.safestring import mark_safe

register = template.Library()

FRAGMENT_TIMEOUT = 60 * 60
FILLING = "_cachedfragment_filling"


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
    def __init__(self, nodelist: template.NodeList, parts: list[template.base.FilterExpression]):
        self.nodelist, self.parts = nodelist, parts
        self.holes = nodelist.get_nodes_by_type(PerRequestNode)
        for number, hole in enumerate(self.holes):
            hole.marker = _secret_marker(f"hole-{number}")

    def render(self, context: Any) -> str:
        key = ":".join(str(part.resolve(context)) for part in self.parts)
        html = cache.get(key)
        if html is None:
            with context.push(**{FILLING: True, "csrf_token": csrf_standin()}):
                html = self.nodelist.render(context)
            cache.set(key, html, FRAGMENT_TIMEOUT)
        for hole in self.holes:
            marker = f"<!--{hole.marker}-->"
            if marker in html:
                html = html.replace(marker, hole.nodelist.render(context))
        if csrf_standin() in html:
            html = html.replace(csrf_standin(), str(context.get("csrf_token", "")))
        return mark_safe(html)  # noqa: S308 -- rendered by this template, already escaped


@register.tag
def cachedfragment(parser: template.base.Parser, token: template.base.Token) -> CachedFragmentNode:
    """{% cachedfragment KEY "part" [VARY …] %}: VARY values (e.g. a role flag) join the key."""
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(
            'usage: {% cachedfragment KEY "part" [VARY …] %}…{% endcachedfragment %}'
        )
    nodelist = parser.parse(("endcachedfragment",))
    parser.delete_first_token()
    return CachedFragmentNode(nodelist, [parser.compile_filter(bit) for bit in bits[1:]])


@register.tag
def perrequest(parser: template.base.Parser, token: template.base.Token) -> PerRequestNode:
    """{% perrequest %}…{% endperrequest %}: rendered for each request inside a cached fragment."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("{% perrequest %} takes no arguments")
    nodelist = parser.parse(("endperrequest",))
    parser.delete_first_token()
    return PerRequestNode(nodelist)
