"""The base serializer for models: the same strict fields for model columns as for declared fields
(whole numbers and times in ASCII, see distribution.api.fields), so a setting such as
`binding_validity_days` refuses "１５" just as a declared IntegerField does."""

from __future__ import annotations

from rest_framework import serializers

from distribution.api.fields import DateTimeField, IntegerField

_STRICT = {serializers.IntegerField: IntegerField, serializers.DateTimeField: DateTimeField}


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        model_field: _STRICT.get(field, field)
        for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
    }
