"""Inputs that several topics' endpoints share: the reason a merchant gives for a decision."""

from rest_framework import serializers


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class OptionalReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
