"""tracecode-validator: the trace-code registry and the settlement rule engine."""

from __future__ import annotations

from fastapi import FastAPI
from yibao.service import Runtime, create_service_app

from tracecode_validator.api import catalogue, codes, reviews
from tracecode_validator.api.deps import ValidatorContext
from tracecode_validator.catalogue_cache import CatalogueCache
from tracecode_validator.domain.rules.hits import Action, RuleCode
from tracecode_validator.domain.rules.policy import RulePolicy
from tracecode_validator.handlers import DEAD_LETTER_HOOKS, ValidatorDeps, build_handlers
from tracecode_validator.settings import ValidatorSettings


def policy_from(settings: ValidatorSettings) -> RulePolicy:
    """The bureau's policy parameters, from configuration."""
    return RulePolicy(
        actions={RuleCode(k): Action(v) for k, v in settings.rule_actions.items()},
        supply_tolerance=settings.supply_tolerance,
        split_sales_allowed=settings.split_sales_allowed,
        warn_on_non_8_prefix=settings.warn_on_non_8_prefix,
        return_window_days=settings.return_window_days,
    )


def create_app(settings: ValidatorSettings | None = None) -> FastAPI:
    """Build the app: rules and registry behind the consumer, bureau APIs in front."""
    settings = settings or ValidatorSettings()
    deps = ValidatorDeps(
        catalogue=CatalogueCache(),
        policy=policy_from(settings),
        purchase_lookback_days=settings.purchase_lookback_days,
    )

    async def on_start(runtime: Runtime) -> None:
        app.state.validator = ValidatorContext(deps=deps, uow=runtime.uow)

    app = create_service_app(
        settings,
        title="Yibao tracecode-validator",
        description="Trace-code registry (进销存) and the settlement rule engine: no code, "
        "no settlement. Rule actions are policy parameters (VALIDATOR_RULE_ACTIONS).",
        routers=[catalogue.router, reviews.router, codes.router],
        handlers=build_handlers(deps),
        on_dead_letter=DEAD_LETTER_HOOKS,
        on_start=on_start,
    )
    return app
