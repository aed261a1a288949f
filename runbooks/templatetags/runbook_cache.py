"""Per-request holes in a page that is stored whole in the cache (`runbooks.page_cache`).

A page rendered for the cache is rendered with `FILLING` set in its context:
- `{% csrf_token %}` anywhere in it renders a stand-in (the page cache puts
  `csrf_standin()` in the context), swapped for the viewer's token when served;
- `{% perrequest "name" %}…{% endperrequest %}` renders a marker instead of its
  content, and whoever serves the stored page fills the marker for this
  request (`hole_marker(name)`). Rendered normally, the tag renders its content.

Stand-in and markers derive from SECRET_KEY: the same on every web node
sharing the cache, and not something a runbook's text can guess.
"""

from functools import cache as memoize
from typing import Any

from django import template
from django.utils.crypto import salted_hmac
from django.utils.safestring import mark_safe

register = template.Library()

FILLING = "_cachedpage_filling"


@memoize
def _secret_marker(name: str) -> str:
    return "fragment-" + salted_hmac("runbooks.cachedfragment", name).hexdigest()[:24]


def csrf_standin() -> str:
    return _secret_marker("csrf")


@memoize
def hole_marker(name: str) -> str:
    return f"<!--{_secret_marker(f'hole-{name}')}-->"


class PerRequestNode(template.Node):
    def __init__(self, name: str, nodelist: template.NodeList):
        self.name, self.nodelist = name, nodelist

    def render(self, context: Any) -> str:
        if context.get(FILLING):
            return mark_safe(hole_marker(self.name))  # noqa: S308 -- a fixed HTML comment
        return self.nodelist.render(context)


@register.tag
def perrequest(parser: template.base.Parser, token: template.base.Token) -> PerRequestNode:
    """{% perrequest "name" %}…{% endperrequest %}: a hole filled per request in a cached page."""
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError('usage: {% perrequest "name" %}…{% endperrequest %}')
    nodelist = parser.parse(("endperrequest",))
    parser.delete_first_token()
    return PerRequestNode(bits[1][1:-1], nodelist)
