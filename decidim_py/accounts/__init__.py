"""Accounts: users, organisation and space roles, hosts (departments and community organisations)."""

from .models import Host, HostMembership, HostRole, SpaceRole, SpaceRoleName, User

__all__ = ["Host", "HostMembership", "HostRole", "SpaceRole", "SpaceRoleName", "User"]
