crate::text_enum!(
    pub enum Role {
        DistrictAdmin = "district_admin",
        BureauOfficer = "bureau_officer",
        SchoolAdmin = "school_admin",
        Teacher = "teacher",
        Guard = "guard",
        Counselor = "counselor",
        LegalVp = "legal_vp",
        DormManager = "dorm_manager",
        Parent = "parent",
        Student = "student",
    }
);

impl Role {
    /// Works for the district bureau, across all its schools.
    pub fn is_district(self) -> bool {
        matches!(self, Role::DistrictAdmin | Role::BureauOfficer)
    }

    /// School staff, who reach pupils only once vetted.
    pub fn is_vetted(self) -> bool {
        matches!(
            self,
            Role::SchoolAdmin
                | Role::Teacher
                | Role::Guard
                | Role::Counselor
                | Role::LegalVp
                | Role::DormManager
        )
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
