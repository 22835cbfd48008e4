"""The directory's services in one object, as a process (CLI command, server) opens them."""

from __future__ import annotations

from hopthu.directory.accounts import AccountService
from hopthu.directory.agencies import AgencyService
from hopthu.directory.aliases import AliasService
from hopthu.directory.apitokens import ApiTokens
from hopthu.directory.apppasswords import AppPasswords
from hopthu.directory.breaches import BreachService
from hopthu.directory.context import DirectoryContext
from hopthu.directory.delegations import DelegationService
from hopthu.directory.factors import AdminFactors
from hopthu.directory.former import FormerAddressService
from hopthu.directory.formerimport import FormerImport
from hopthu.directory.people import PeopleService
from hopthu.directory.personaldata import PersonalData
from hopthu.directory.preferences import PreferenceService
from hopthu.directory.reorganisation import Reorganisation
from hopthu.directory.requests import RequestService
from hopthu.directory.roles import RoleService
from hopthu.directory.senderrules import SenderRuleService


class Directory:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx
        self.agencies = AgencyService(ctx)
        self.people = PeopleService(ctx)
        self.accounts = AccountService(ctx)
        self.roles = RoleService(ctx)
        self.delegations = DelegationService(ctx, self.accounts)
        self.aliases = AliasService(ctx, self.accounts)
        self.requests = RequestService(ctx)
        self.preferences = PreferenceService(ctx)
        self.factors = AdminFactors(ctx)
        self.reorganisation = Reorganisation(ctx)
        self.api_tokens = ApiTokens(ctx)
        self.app_passwords = AppPasswords(ctx)
        self.sender_rules = SenderRuleService(ctx)
        self.personal_data = PersonalData(ctx, self.accounts, self.roles)
        self.breaches = BreachService(ctx)
        self.former = FormerAddressService(ctx, self.accounts)
        self.former_import = FormerImport(self.people, self.accounts, self.former)
