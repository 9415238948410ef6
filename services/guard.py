"""Where the services ask `services.permissions` about a knowledge base, and keep the accounts
file's records of knowledge bases (owner, shares, the audit log) in step with what they did.

    guard.require(person, Action.WRITE, "notes")   # the access record read, then decided
    guard.readable(person, catalog.names())        # the names a person may see

The accounts file is opened once, when first needed (`accounts`); opening it gives the knowledge
bases nobody owns yet to the first admin, `default` shared with everyone, so an install from
before people keeps working. With `[auth] enabled = false` and no accounts file, nothing needs
it: the faces act as the local operator, whose decisions read no record (it is nobody in the
file, and an admin), and nothing is recorded, so no file is created. Once the file exists
(`users.py` made it), records are kept even with auth off, so turning auth on later finds every
knowledge base with its owner and shares where they belong.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from accounts.store import AccountStore
from config import Settings
from index.catalog import KnowledgeBaseCatalog
from services.people import LOCAL_OPERATOR, AccountService, KnowledgeBaseAccess, Person
from services.permissions import Action, Decision, decide, require


class Guard:
    """Permission checks on the knowledge bases of `catalog`, and their records in the accounts
    file `settings.paths.users` (see module)."""

    def __init__(self, settings: Settings, catalog: KnowledgeBaseCatalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._lock = threading.Lock()
        self._accounts: AccountService | None = None

    @property
    def accounts(self) -> AccountService:
        """The one AccountService of the process, opened (or created) on first use."""
        with self._lock:
            if self._accounts is None:
                accounts = AccountService(
                    AccountStore(self.settings.paths.users), self.settings.auth
                )
                accounts.claim_unowned(self.catalog.names())
                self._accounts = accounts
            return self._accounts

    @property
    def keeps_records(self) -> bool:
        """Whether owners, shares and the audit log are kept: auth is on, or the file exists."""
        return (
            self._accounts is not None
            or self.settings.auth.enabled
            or self.settings.paths.users.exists()
        )

    def access(self, kb: str) -> KnowledgeBaseAccess:
        """Who owns `kb` and whom it is shared with (nobody, when no records are kept)."""
        return self.accounts.access(kb) if self.keeps_records else KnowledgeBaseAccess(kb, None)

    def decide(self, person: Person, action: Action, kb: str | None = None) -> Decision:
        """`permissions.decide` on `kb`'s record; one that does not exist has no owner and no
        shares, so it is as absent for a person as one they may not read."""
        return decide(person, action, self._record(person, kb))

    def require(self, person: Person, action: Action, kb: str | None = None) -> None:
        """`permissions.require`: KnowledgeBaseNotFoundError where `person` may not read `kb`
        (the same error, word for word, as for a name nobody has), Forbidden where they may
        read it but not do this."""
        require(person, action, self._record(person, kb))

    def readable(self, person: Person, names: Iterable[str]) -> list[str]:
        """Those of `names` that `person` may read, in order: one read of the records."""
        names = list(names)
        if person == LOCAL_OPERATOR:
            return names
        records = self.accounts.accesses(names)
        return [
            name for name in names if decide(person, Action.READ, records[name]) is Decision.ALLOW
        ]

    def first_admin(self) -> Person | None:
        """Who owns what was made before people (the first admin), if records are kept and
        there is an admin."""
        return self.accounts.first_admin() if self.keeps_records else None

    def audit(self, person: Person, action: str, target: str, detail: str = "") -> None:
        """Append to the audit log, where records are kept."""
        if self.keeps_records:
            self.accounts.audit(person, action, target, detail)

    def created(self, person: Person, kb: str) -> None:
        """`person` made `kb` and owns it (the local operator: the first admin); audited."""
        if self.keeps_records:
            self.accounts.record_created(person, kb)

    def renamed(self, person: Person, old: str, new: str) -> None:
        """`new` takes `old`'s owner and shares; audited."""
        if self.keeps_records:
            self.accounts.rename_kb(person, old, new)

    def deleted(self, person: Person, kb: str) -> None:
        """`kb` is gone: its owner and shares are forgotten; audited."""
        if self.keeps_records:
            self.accounts.forget_kb(person, kb)

    def _record(self, person: Person, kb: str | None) -> KnowledgeBaseAccess | None:
        """What a decision about `kb` needs. Where records are kept, the accounts file is opened
        first, so that its opening (which claims what nobody owns) comes before the action and
        never takes a knowledge base just made for an unowned one. The local operator's
        decision needs no record (see module); a name that does not exist has none."""
        accounts = self.accounts if self.keeps_records else None
        if kb is None:
            return None
        if accounts is None or person == LOCAL_OPERATOR or not self.catalog.exists(kb):
            return KnowledgeBaseAccess(kb, None)
        return accounts.access(kb)
