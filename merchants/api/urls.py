from django.urls import path

from merchants.api import views

urlpatterns = [
    path("auth/token", views.StaffLoginApi.as_view(), name="auth-token"),
    path("auth/token/revoke", views.StaffTokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("auth/session/merchant", views.SessionMerchantApi.as_view(), name="auth-session-merchant"),
    path("auth/invitations/accept", views.InvitationAcceptApi.as_view(), name="auth-invitation-accept"),
    path("me", views.MeApi.as_view(), name="me"),
    path("merchant", views.MerchantProfileApi.as_view(), name="merchant"),
    path("program", views.ProgramApi.as_view(), name="program"),
    path("program/changes", views.ProgramChangesApi.as_view(), name="program-changes"),
    path("audit-events", views.AuditEventListApi.as_view(), name="audit-event-list"),
    path("audit-events/<int:pk>", views.AuditEventDetailApi.as_view(), name="audit-event-detail"),
    path("staff", views.MembershipListApi.as_view(), name="staff-list"),
    path("staff/<int:pk>", views.MembershipDetailApi.as_view(), name="staff-detail"),
    path("staff/invitations", views.InvitationListApi.as_view(), name="invitation-list"),
    path("staff/invitations/<int:pk>", views.InvitationDetailApi.as_view(), name="invitation-detail"),
    path("staff/invitations/<int:pk>/revoke", views.InvitationRevokeApi.as_view(), name="invitation-revoke"),
    path("api-keys", views.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<str:prefix>", views.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("api-keys/<str:prefix>/revoke", views.ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
]
