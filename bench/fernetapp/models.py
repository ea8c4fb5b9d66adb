"""``FernetIdentity``: one identity per row, each field a ``django-fernet-encrypted-fields`` field.

It holds the same data as legionary's sealed identity (names, birth date and place, citizenships,
documents, phone, e-mail, address, next of kin), the way a Django developer would store it with
that library: every field encrypted on its own under one Fernet key derived from ``SECRET_KEY``
and ``SALT_KEY``. There is no per-person key and no blind index, so nothing can be searched
without decrypting every row. The table is created by ``migrate --run-syncdb`` in the benchmark;
the app has no migrations on purpose.
"""

from __future__ import annotations

from django.db import models
from encrypted_fields.fields import EncryptedCharField, EncryptedJSONField, EncryptedTextField


class FernetIdentity(models.Model):
    given_names = EncryptedCharField(max_length=200)
    family_name = EncryptedCharField(max_length=200)
    patronymic = EncryptedCharField(max_length=200, null=True, blank=True)
    other_names = EncryptedJSONField(default=list)
    date_of_birth = EncryptedCharField(max_length=10)
    place_of_birth = EncryptedCharField(max_length=200, null=True, blank=True)
    citizenships = EncryptedJSONField(default=list)
    documents = EncryptedJSONField(default=list)
    phone = EncryptedCharField(max_length=40, null=True, blank=True)
    email = EncryptedCharField(max_length=254, null=True, blank=True)
    address = EncryptedTextField(null=True, blank=True)
    next_of_kin = EncryptedJSONField(default=list)

    class Meta:
        app_label = "fernetapp"
