"""gateway mode: API Gateway (IAM auth) verified the signature; we trust what it asserts
only when the request comes from its network AND carries the shared secret it adds."""

from __future__ import annotations

import hmac
import ipaddress

from core.auth import AuthenticationFailed
from plugins.internal_iam.config import GatewaySettings
from plugins.internal_iam.sigv4 import ReceivedRequest


class GatewayVerifier:
    def __init__(self, settings: GatewaySettings) -> None:
        self.networks = [ipaddress.ip_network(net, strict=False)
                         for net in settings.trusted_networks]
        self.identity_header = settings.identity_header.lower()
        self.secret_header = settings.secret_header.lower()
        self.shared_secret = settings.shared_secret.encode()

    def asserted_identity(self, received: ReceivedRequest, client_host: str | None) -> str | None:
        """The caller's ARN as the trusted gateway states it; None when none is stated."""
        identity = received.header(self.identity_header)
        if identity is None:
            return None
        if not self._from_trusted_network(client_host):
            raise AuthenticationFailed("identity asserted by an untrusted source")
        presented = (received.header(self.secret_header) or "").encode()
        if not self.shared_secret or not hmac.compare_digest(presented, self.shared_secret):
            raise AuthenticationFailed("gateway secret mismatch")
        identity = identity.strip()
        if not identity:
            raise AuthenticationFailed("empty gateway identity")
        return identity

    def _from_trusted_network(self, client_host: str | None) -> bool:
        try:
            address = ipaddress.ip_address(client_host or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)
