"""Configuration: TOML structured into attrs classes by cattrs.

Sources, last wins: the TOML file, then `ITUBE__SECTION__KEY` environment variables.
A string value `env:NAME` (or `env:NAME|default`) is replaced by that variable, so
secrets never sit in a committed file. Errors name the file, the key and what was expected.
"""

from core.config.checks import Problems, core_problems, production_problems
from core.config.converter import CONVERTER, WrongValue, make_converter, strict_hook
from core.config.environment import ENV_PREFIX, apply_env_overrides, resolve_env_references
from core.config.loading import (
    DEFAULT_CONFIG,
    config_from_dict,
    inspect_config,
    inspect_dict,
    load_config,
)
from core.config.masking import (
    MASK,
    holds_secrets,
    mask_url,
    masked,
    redact,
    secret_texts,
    secret_texts_of,
)
from core.config.sections import (
    AppSection,
    AwsSection,
    Config,
    DatabaseSection,
    EventsSection,
    HttpSection,
    LoggingSection,
    MetricsSection,
    ServerSection,
    secret,
)
from core.config.structuring import (
    StructureProblem,
    iter_structure_errors,
    structure,
    type_name,
)

__all__ = [
    "CONVERTER",
    "DEFAULT_CONFIG",
    "ENV_PREFIX",
    "MASK",
    "AppSection",
    "AwsSection",
    "Config",
    "DatabaseSection",
    "EventsSection",
    "HttpSection",
    "LoggingSection",
    "MetricsSection",
    "Problems",
    "ServerSection",
    "StructureProblem",
    "WrongValue",
    "apply_env_overrides",
    "config_from_dict",
    "core_problems",
    "holds_secrets",
    "inspect_config",
    "inspect_dict",
    "iter_structure_errors",
    "load_config",
    "make_converter",
    "mask_url",
    "masked",
    "production_problems",
    "redact",
    "resolve_env_references",
    "secret",
    "secret_texts",
    "secret_texts_of",
    "strict_hook",
    "structure",
    "type_name",
]
