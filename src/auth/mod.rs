//! Who is calling: the `Caller` extractor (a bearer token whose session still
//! stands) and the role guards every route starts with. Signing in and out
//! lives in `account`; this module imports no domain.

pub mod extract;
mod repo;
pub mod role;

pub use extract::{
    Admin, AuditReader, BureauOfficer, Caller, CaseMeasurer, CaseWorker, ConcernRaiser,
    ConsentReader, DistrictAdmin, DormKeeper, DormRecorder, GateStaff, Guard, Parent, Principal,
    RecordReader, RecordStaff, SafeguardingLead, SignedIn, Staff, StaffReader, TiplineKeyHolder,
    Transferer, VettingReader, VisitHost, VisitLogReader, WatchKeeper,
};
pub use role::Role;
