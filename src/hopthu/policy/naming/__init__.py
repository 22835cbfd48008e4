"""Address naming (R4): one namespace for agencies, sub-units and people, and display names.

`address` says what a local part may be and which are reserved, `agencies` proposes agency and
sub-unit addresses (R4.1, R4.2), `people` makes personal addresses and serves namesakes (R4.3) and
builds display names (R4.4). Import from here.
"""

from hopthu.policy.naming.address import (
    MAX_LENGTH,
    RESERVED,
    Namespace,
    is_issuable,
    is_well_formed,
    validate_local_part,
)
from hopthu.policy.naming.agencies import agency_proposals, subunit_proposals
from hopthu.policy.naming.people import (
    MAX_BASE_LENGTH,
    Assignment,
    AssignmentReason,
    PersonRequest,
    assign_people,
    display_name,
    person_base,
)

__all__ = [
    "MAX_BASE_LENGTH",
    "MAX_LENGTH",
    "RESERVED",
    "Assignment",
    "AssignmentReason",
    "Namespace",
    "PersonRequest",
    "agency_proposals",
    "assign_people",
    "display_name",
    "is_issuable",
    "is_well_formed",
    "person_base",
    "subunit_proposals",
    "validate_local_part",
]
