"""Keep secret values out of every output: plans, logs, the status document, events, error messages.

Two ways a value is found to be secret:

- by name: the value of an environment variable, log driver option, docker label, tag or any other
  field whose name looks secret (`DB_PASSWORD`, `apikey`), and the argument after a `--password`
  style flag;
- by value, with detect-secrets' plugins run on each printed string: the userinfo of a URL
  (`postgres://app:PW@db`, a Sentry DSN's key), well-known token formats (AWS, Stripe, GitHub,
  Slack, JWT, private keys, ...), secret keyword assignments (`--password=...`) and high-entropy
  base64-like strings.

The secret part is replaced by MASK. Masking runs only on what is printed (its results are cached),
never while planning; `--show-sensitive` skips it.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Iterator, Sequence

SENSITIVE_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH|(^|_)KEY($|_))",
                            re.IGNORECASE)
MASK = "(sensitive value)"
# Values under these, or of fields named so, are references to secrets (Secrets Manager / SSM / ACM
# ARNs), not secrets: shown (still scanned by value).
REFERENCES = frozenset({"secrets", "secretOptions"})
_REFERENCE_FIELD = re.compile(r"(Arn|ARN|valueFrom|credentialsParameter)$")
# The fields that name a name/value pair ({name: DB_PASSWORD, value: ...}): masked by the name they hold.
_LABELS = ("name", "key", "Name", "Key")
_VALUES = ("value", "Value")
# userinfo of a URL: its password always; a user alone on http(s), where a token is sent so (a
# Sentry DSN's key), as the git source redacts its URLs. `ssh://git@host` names a user only.
_URL_USERINFO = re.compile(r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<user>[^/@\s:]*)(?::(?P<password>[^/@\s]*))?@")
_TOKEN_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})
_TOKEN_CHARS = re.compile(r"[\w+/=.-]*")  # a secret found inside a token masks the whole token
_FLAG = re.compile(r"^--?([A-Za-z][\w.-]*)$")
_MIN_LENGTH = 8  # no detector finds a secret in fewer characters (a name can: see `mask_tree`)
_MIN_ENTROPY_TOKEN = 20  # a base64 token this short cannot reach the entropy limit (4.5 bits a character)


@functools.lru_cache(maxsize=8192)
def is_sensitive(name: str) -> bool:
    return bool(SENSITIVE_NAME.search(name)) or bool(_detectors().keyword_name.search(name))


def mask_value(path: str, value: Any) -> Any:
    """Mask `value`, found at `path` (a change path such as `spec.containerDefinitions[web].environment[DB_URL]`)."""
    if value is None:
        return None
    name, parent = _last_names(path)
    if (parent not in REFERENCES and not isinstance(value, (dict, list)) and not _REFERENCE_FIELD.search(name)
            and is_sensitive(name)):
        return MASK
    return mask_tree(value, parent=name)


def mask_at(loc: Sequence[Any], value: Any) -> Any:
    """Mask `value` found at a manifest field location (`('spec', 'containerDefinitions', 0,
    'environment', 2, 'value')`, as a validation error gives it). Under `environment` the variable's
    name is not in the location, so any value there is masked."""
    names = [part for part in loc if isinstance(part, str)]
    if "environment" in names or (names and is_sensitive(names[-1]) and not isinstance(value, (dict, list))):
        return MASK
    return mask_tree(value, parent=names[-1] if names else None)


def mask_tree(value: Any, parent: str | None = None) -> Any:
    """A copy of `value` (plain data) with every secret in it masked, by name and by value."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        label = next((value[k] for k in _LABELS if isinstance(value.get(k), str)), None)
        secret_pair = label is not None and parent not in REFERENCES and is_sensitive(label)
        out = {}
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                out[key] = mask_tree(item, parent=str(key))
            elif item is None or isinstance(item, bool):
                out[key] = item
            elif (key in _VALUES and secret_pair) or (
                    isinstance(key, str) and key not in _LABELS and parent not in REFERENCES
                    and not _REFERENCE_FIELD.search(key) and is_sensitive(key.strip("[]"))):
                out[key] = MASK
            else:
                out[key] = mask_tree(item, parent=str(key))
        return out
    if isinstance(value, list):
        out_list: list[Any] = []
        after_flag = False  # the item after `--password`, `-secret` ...
        for item in value:
            out_list.append(MASK if after_flag and isinstance(item, str) else mask_tree(item, parent=parent))
            flag = _FLAG.match(item) if isinstance(item, str) else None
            after_flag = bool(flag) and is_sensitive(flag.group(1))
        return out_list
    return value


@functools.lru_cache(maxsize=8192)
def mask_text(text: str) -> str:
    """`text` with each secret found in it by value replaced by MASK (a free-form message too)."""
    if len(text) < _MIN_LENGTH:
        return text
    spans = sorted(_secret_spans(text))
    if not spans:
        return text
    out, end = [], 0
    for start, stop in spans:
        if stop <= end:
            continue
        out.append(text[end:max(start, end)])
        if start >= end:
            out.append(MASK)
        end = stop
    out.append(text[end:])
    return "".join(out)


def _secret_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _URL_USERINFO.finditer(text):
        if match.group("password"):
            yield match.span("password")
        elif match.group("user") and match.group("scheme").lower() in _TOKEN_SCHEMES:
            yield match.span("user")
    detectors = _detectors()
    for regex, group in detectors.regexes:
        for match in regex.finditer(text):
            if group is not None:
                yield match.span(group)
                continue
            groups = [i for i in range(1, (match.lastindex or 0) + 1) if match.group(i)]
            for start, _ in (match.span(i) for i in groups) if groups else [match.span()]:  # as the plugin yields them
                yield start, _TOKEN_CHARS.match(text, start).end()
    entropy = detectors.entropy
    for match in detectors.token.finditer(text):
        token = match.group()
        if entropy.calculate_shannon_entropy(token) > entropy.entropy_limit:
            yield match.span()


class _Detectors:
    """detect-secrets' plugins, reduced to what finds a secret inside one string: the regular
    expressions of every regex plugin (a public IPv4 address is no secret), the keyword plugin's
    `password=value` and quoted `"password": "value"` forms (not its unquoted `password: value`,
    which is how an error message names a field), and the base64 high-entropy plugin's character
    set and limit. Hex-only strings are left alone: image digests, commit ids and task ids are hex,
    and printing which commit is deployed is the point of a plan."""

    def __init__(self) -> None:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.plugins import keyword
        from detect_secrets.plugins.base import RegexBasedDetector
        from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
        from detect_secrets.plugins.ip_public import IPPublicDetector

        plugins = get_mapping_from_secret_type_to_class().values()
        self.regexes: list[tuple[re.Pattern[str], int | None]] = [
            (regex, None) for plugin in plugins if issubclass(plugin, RegexBasedDetector) and plugin is not IPPublicDetector
            for regex in plugin.denylist]
        assignments = (keyword.FOLLOWED_BY_EQUAL_SIGNS_REGEX, keyword.FOLLOWED_BY_COLON_QUOTES_REQUIRED_REGEX,
                       keyword.FOLLOWED_BY_ARROW_FUNCTION_SIGN_QUOTES_REQUIRED_REGEX)
        groups = {**keyword.CONFIG_DENYLIST_REGEX_TO_GROUP, **keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP}
        self.regexes += [(regex, groups[regex]) for regex in assignments]  # the group that holds the value
        self.keyword_name = re.compile(keyword.DENYLIST_REGEX, re.IGNORECASE)
        self.entropy = Base64HighEntropyString()
        self.token = re.compile(r"[%s]{%d,}" % (re.escape(self.entropy.charset), _MIN_ENTROPY_TOKEN))


@functools.cache
def _detectors() -> _Detectors:
    return _Detectors()  # built on first use: importing detect-secrets costs ~0.2 s


def _last_names(path: str) -> tuple[str, str | None]:
    """('DB_URL', 'environment') for `...environment[DB_URL]`, ('apikey', 'options') for `...options.apikey`."""
    parts = re.findall(r"\[([^\]]*)\]|([^.\[\]]+)", path)
    names = [keyed or field for keyed, field in parts]
    return (names[-1] if names else ""), (names[-2] if len(names) > 1 else None)


class MaskingFilter(logging.Filter):
    """Masks what a log record prints: its message (arguments merged in) and its `extra=` fields."""

    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in list(vars(record).items()):
            if key not in self._STANDARD and not key.startswith("_") and isinstance(value, (str, dict, list)):
                setattr(record, key, mask_tree(value, parent=key))
        return True
