//! Roles and scopes. Every API endpoint declares one scope; a principal holds a set.

use crate::values::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

crate::values::str_enum!(
    /// What a token or API key may do.
    Scope {
        ReadQueue = "read:queue",
        WriteQueue = "write:queue",
        CallTickets = "call:tickets",
        ManageTenant = "manage:tenant",
        ReadReports = "read:reports",
        ReadAudit = "read:audit",
        ManagePlatform = "manage:platform",
        ManageAnnouncements = "manage:announcements",
    } "invalid_scope"
);

impl Role {
    /// The scopes a role grants.
    pub fn scopes(self) -> &'static [Scope] {
        use Scope::*;
        match self {
            Role::SuperAdmin => Scope::ALL,
            Role::Admin => &[
                ReadQueue,
                WriteQueue,
                CallTickets,
                ManageTenant,
                ReadReports,
                ReadAudit,
                ManageAnnouncements,
            ],
            // Managers run their branches' screens (announcements) but not the tenant.
            Role::Manager => &[
                ReadQueue,
                WriteQueue,
                CallTickets,
                ReadReports,
                ManageAnnouncements,
            ],
            // Agents issue tickets for walk-ins at the counter and call them.
            Role::Agent => &[ReadQueue, WriteQueue, CallTickets],
            // Displays and kiosks read; kiosks issue tickets through their own page (issue 5).
            Role::Device => &[ReadQueue],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_the_expected_scopes() {
        assert!(!Role::Agent.scopes().contains(&Scope::ManageTenant));
        assert!(!Role::Device.scopes().contains(&Scope::CallTickets));
        assert!(Role::SuperAdmin.scopes().contains(&Scope::ManagePlatform));
        assert!(!Role::Admin.scopes().contains(&Scope::ManagePlatform));
        assert!(Role::Manager.scopes().contains(&Scope::ManageAnnouncements));
        assert!(!Role::Agent.scopes().contains(&Scope::ManageAnnouncements));
    }
}
