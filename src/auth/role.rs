use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DistrictAdmin,
    BureauOfficer,
    SchoolAdmin,
    Teacher,
    Guard,
    Counselor,
    LegalVp,
    DormManager,
    Parent,
    Student,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::DistrictAdmin,
        Role::BureauOfficer,
        Role::SchoolAdmin,
        Role::Teacher,
        Role::Guard,
        Role::Counselor,
        Role::LegalVp,
        Role::DormManager,
        Role::Parent,
        Role::Student,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district_admin",
            Role::BureauOfficer => "bureau_officer",
            Role::SchoolAdmin => "school_admin",
            Role::Teacher => "teacher",
            Role::Guard => "guard",
            Role::Counselor => "counselor",
            Role::LegalVp => "legal_vp",
            Role::DormManager => "dorm_manager",
            Role::Parent => "parent",
            Role::Student => "student",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Works for the district bureau, across all its schools.
    pub fn is_district(self) -> bool {
        matches!(self, Role::DistrictAdmin | Role::BureauOfficer)
    }

    /// Belongs to exactly one school.
    pub fn is_school_bound(self) -> bool {
        !self.is_district() && self != Role::Parent
    }

    /// Works at a school.
    pub fn is_school_staff(self) -> bool {
        self.is_school_bound() && self != Role::Student
    }
}
