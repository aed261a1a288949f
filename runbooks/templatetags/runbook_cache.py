"""Cache a user-independent fragment of a page under a key the view computed.

Django's `{% cache %}` tag hashes its vary-on values but takes a fixed timeout
and fragment name; this one takes the key straight from the model
(`Runbook.page_cache_key`), so a stale fragment is never read: any change
makes a new key, and old entries simply expire.
"""

from typing import Any

from django import template
from django.core.cache import cache
from django.utils.safestring import mark_safe

register = template.Library()

FRAGMENT_TIMEOUT = 60 * 60


class CachedFragmentNode(template.Node):
    def __init__(self, nodelist: template.NodeList, parts: list[template.base.FilterExpression]):
        self.nodelist, self.parts = nodelist, parts

    def render(self, context: Any) -> str:
        key = ":".join(str(part.resolve(context)) for part in self.parts)
        html = cache.get(key)
        if html is None:
            html = self.nodelist.render(context)
            cache.set(key, html, FRAGMENT_TIMEOUT)
        return mark_safe(html)  # noqa: S308 -- rendered by this template, already escaped


@register.tag
def cachedfragment(parser: template.base.Parser, token: template.base.Token) -> CachedFragmentNode:
    """{% cachedfragment KEY "part" [VARY …] %}: VARY values (e.g. a role flag) join the key."""
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError('usage: {% cachedfragment KEY "part" [VARY …] %}…{% endcachedfragment %}')
    nodelist = parser.parse(("endcachedfragment",))
    parser.delete_first_token()
    return CachedFragmentNode(nodelist, [parser.compile_filter(bit) for bit in bits[1:]])
