"""Base API views. Every endpoint derives from `MerchantApi` or `DistributorApi` (or is listed as
public in tests/test_isolation.py), so the merchant always comes from the credentials and every
queryset is scoped before a subclass sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string
from rest_framework import generics, mixins
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from distribution import idempotency
from distribution.api import validation
from distribution.api.permissions import SAFE_METHODS, IsDistributorPrincipal, IsMerchantPrincipal, RolePermission
from distribution.auth import Actor, Principal
from distribution.errors import ValidationFailed

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest, HttpResponseBase
    from rest_framework import serializers
    from rest_framework.authentication import BaseAuthentication
    from rest_framework.permissions import BasePermission
    from rest_framework.request import Request

    from distribution.tenancy import Tenant, TenantModel

UNSAFE_HANDLERS = ("post", "put", "patch", "delete")


class BaseApi(generics.GenericAPIView):
    """Plumbing shared by every authenticated endpoint: idempotency, input validation, scoping."""

    #: POST requests carrying an Idempotency-Key are replay-safe; set True to demand the key.
    idempotency_required: ClassVar[bool] = False
    idempotent_methods: ClassVar[frozenset[str]] = frozenset({"POST"})
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    metadata_class = None  # OPTIONS answers 405: the OpenAPI schema is the description of the API

    #: The tenant model this endpoint reads; `get_queryset()` scopes it to the caller's merchant.
    model: ClassVar[type[TenantModel] | None] = None
    #: The request body's serializer, when `validate_input()` is called without one.
    Input: ClassVar[type[serializers.Serializer]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); narrow the scoped queryset in scope_queryset() instead"
            )
        if "queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} sets queryset; set `model` and let get_queryset() scope it")
        if cls.model is not None:
            cls.queryset = cls.model.objects.none()  # for introspection (schema) only; never evaluated

    # --- tenancy ---------------------------------------------------------------------------------
    @property
    def principal(self) -> Principal:
        return cast(Principal, self.request.auth)  # the permissions let no other credential in

    @property
    def merchant(self) -> Tenant:
        return self.principal.merchant

    def get_queryset(self) -> QuerySet[Any]:
        if self.model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no model")
        return self.scope_queryset(self.model.objects.for_merchant(self.merchant))

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Narrow (or select_related) the merchant-scoped queryset; never widen it."""
        return queryset

    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()  # type: ignore[assignment]  # DRF's is a dict
        auth = getattr(self.request, "auth", None)
        if auth is not None:
            context["merchant"] = auth.merchant
            context["currency"] = auth.merchant.currency
        return context

    # --- input -----------------------------------------------------------------------------------
    def validate_input(
        self,
        serializer_class: type[serializers.Serializer] | None = None,
        *,
        data: Any = None,
        partial: bool = False,
        allow_unknown: bool = False,
    ) -> dict[str, Any]:
        """Validate a request body; unknown fields are refused at every depth (400 `unknown_field`)."""
        return validation.validate(
            serializer_class or self.Input,
            self.request.data if data is None else data,
            context=self.get_serializer_context(),
            partial=partial,
            allow_unknown=allow_unknown,
        )

    def validate_query(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        return self.validate_input(serializer_class, data=self.request.query_params, allow_unknown=True)

    # --- idempotency -----------------------------------------------------------------------------
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        wants_key = request.method in self.idempotent_methods and (
            self.idempotency_required or idempotency.HEADER in request.headers
        )
        if not wants_key:
            return super().dispatch(request, *args, **kwargs)
        # One transaction for the whole request: the key's claim commits with the work or not at all.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request.idempotency_record_id = None  # type: ignore[attr-defined]  # our own attribute on the request
        if request.method not in self.idempotent_methods:
            return
        key = request.headers.get(idempotency.HEADER)
        if key is None:
            if self.idempotency_required:
                raise ValidationFailed(
                    "This endpoint needs an Idempotency-Key header.",
                    code="idempotency_key_required",
                    fields={idempotency.HEADER: ["This header is required."]},
                )
            return
        idempotency.validate_key(key)
        request.idempotency_record_id = idempotency.claim(  # type: ignore[attr-defined]  # as above
            merchant_id=self.merchant.pk,
            scope=self.principal.idempotency_scope,
            key=key,
            method=request.method,
            path=request.path,
            fingerprint=idempotency.request_fingerprint(request.method, request.path, request.data),
        )

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        record_id = getattr(request, "idempotency_record_id", None)
        if record_id and 200 <= response.status_code < 300:
            data = getattr(response, "data", None)
            rendered = None
            if data is not None and isinstance(getattr(response, "accepted_renderer", None), JSONRenderer):
                rendered = response.render().content  # rendered once, for the client and for replays
            idempotency.complete(record_id, response.status_code, data, rendered=rendered)
        return response


class MerchantApi(BaseApi):
    """Endpoints for the merchant's staff (session or token) and the merchant's servers (API key).

    Each unsafe method names its permission in `required_permissions`; reads need `view`.
    """

    throttle_scope = "merchant"
    required_permissions: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract"):  # a base for views; each view made from it is checked
            return
        for handler in UNSAFE_HANDLERS:
            if hasattr(cls, handler) and handler.upper() not in cls.required_permissions:
                raise ImproperlyConfigured(f"{cls.__name__}.{handler} needs an entry in required_permissions")

    def get_authenticators(self) -> list[BaseAuthentication]:
        # the composition root names them (settings.MERCHANT_AUTHENTICATORS): the kernel knows no domain app
        return import_string(settings.MERCHANT_AUTHENTICATORS)()

    def get_permissions(self) -> list[BasePermission]:
        return [IsMerchantPrincipal(), RolePermission()]

    def permission_for(self, method: str) -> str | None:
        if not hasattr(self, method.lower()):
            return None  # not handled here: dispatch answers 405
        if method in self.required_permissions:
            return self.required_permissions[method]
        if method in SAFE_METHODS:
            return "view"
        raise ImproperlyConfigured(f"{type(self).__name__} has no permission for {method}")

    @property
    def actor(self) -> Actor:
        return self.principal.actor


class ObjectActionApi(MerchantApi):
    """A POST on one object of the view's model that calls one service with the caller and a reason; a
    subclass names the service, its input, the service's keyword for the object's id and the answer."""

    abstract = True
    input_class: ClassVar[type[serializers.Serializer]]
    object_argument: ClassVar[str]  # the service's keyword for the object's id, e.g. "withdrawal_id"
    service_arguments: ClassVar[dict[str, Any]] = {}  # fixed keywords for the service

    @staticmethod
    def service(**kwargs: Any) -> Any:
        raise NotImplementedError

    def answer(self, obj: Any, result: Any) -> Response:
        raise NotImplementedError

    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        """The service's keywords from the validated input, besides the reason."""
        return dict(self.service_arguments)

    def post(self, request: Request, pk: Any) -> Response:
        obj = self.get_object()
        data = self.validate_input(self.input_class)
        result = type(self).service(
            merchant=self.merchant,
            actor=self.actor,
            reason=data["reason"],
            **{self.object_argument: obj.pk},
            **self.arguments(data),
        )
        return self.answer(obj, result)


class DistributorApi(BaseApi):
    """Endpoints for a distributor (the merchant's app user), authenticated by a distributor token."""

    throttle_scope = "distributor"

    def get_authenticators(self) -> list[BaseAuthentication]:
        return import_string(settings.DISTRIBUTOR_AUTHENTICATORS)()

    def get_permissions(self) -> list[BasePermission]:
        return [IsDistributorPrincipal()]

    @property
    def external_user_id(self) -> str:
        return self.principal.external_user_id  # type: ignore[return-value]  # a distributor token's names one

    @property
    def actor(self) -> Actor:
        return self.principal.actor


class ListMixin(mixins.ListModelMixin):
    """GET: the scoped, filtered queryset as a cursor-paginated list of `serializer_class`."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


if TYPE_CHECKING:  # what the mixin's calls reach: the view it is mixed into
    _GenericView = generics.GenericAPIView[Any]
else:
    _GenericView = object


class RetrieveMixin(_GenericView):
    """GET: the object named in the URL, from the scoped queryset (another merchant's is a 404)."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)
