//! The demo tenant (`smartqueue seed --demo`, `smartqueue serve --demo`). Everything goes
//! through the `App` use cases as the system principal, so the seed is audited like any
//! other change and obeys the same rules.

use anyhow::Context;
use rand::Rng;
use sq_app::{App, NewLogin, Principal, RequestMeta};
use sq_domain::model::{Agent, Counter, Queue, Service, Site, Skill, Tenant, User};
use sq_domain::policy::{ClassWeight, QueuePolicy};
use sq_domain::{Role, TenantSlug};
use sq_store::{NewAgent, NewCounter, NewQueue, NewService, NewSite, NewTenant};

/// The demo tenant's slug.
pub const DEMO_TENANT: &str = "demo";

/// (name, queue prefix, expected service time s, SLA target wait s)
const SERVICES: &[(&str, &str, u32, u32)] = &[
    ("Deposits", "A", 4 * 60, 10 * 60),
    ("Loans", "B", 15 * 60, 30 * 60),
    ("Cards", "C", 8 * 60, 20 * 60),
];

/// Everything the demo seed created, with the password every demo login shares.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub tenant: Tenant,
    pub site: Site,
    /// Deposits, Loans, Cards.
    pub services: Vec<Service>,
    /// A, B, C (one per service, same order).
    pub queues: Vec<Queue>,
    /// "1", "2", "3".
    pub counters: Vec<Counter>,
    /// `admin@demo.test`, role admin.
    pub admin: User,
    /// `agent1..3@demo.test` with their agent records (same order).
    pub agents: Vec<(User, Agent)>,
    /// `root@demo.test`, platform super admin (creates tenants).
    pub root: User,
    pub password: String,
    /// True when the password was generated (so it must be shown).
    pub password_generated: bool,
    /// Web views (issue 5): a display and a kiosk paired with the site, with their keys
    /// (shown once: only hashes are stored).
    pub devices: Vec<(sq_store::Device, String)>,
}

#[derive(Debug, Clone)]
pub enum SeedOutcome {
    Seeded(Box<DemoSeed>),
    /// The demo tenant exists already; nothing was changed.
    AlreadyPresent(Tenant),
}

/// A 20-character alphanumeric password.
pub fn generate_password() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Seeds the demo tenant unless it exists. `password` (at least 8 characters) is given to
/// every demo login; `None` generates one.
pub async fn seed_demo(app: &App, password: Option<String>) -> anyhow::Result<SeedOutcome> {
    let system = Principal::system();
    let meta = RequestMeta {
        ip: None,
        user_agent: Some(format!("smartqueue/{} seed", env!("CARGO_PKG_VERSION"))),
    };
    let slug: TenantSlug = DEMO_TENANT.parse()?;
    if let Some(t) = app.store.tenant_by_slug(&slug).await? {
        return Ok(SeedOutcome::AlreadyPresent(t));
    }
    let password_generated = password.is_none();
    let password = password.unwrap_or_else(generate_password);
    if password.chars().count() < 8 {
        anyhow::bail!("the demo password must be at least 8 characters long");
    }

    let tenant = app
        .create_tenant(
            &system,
            NewTenant {
                slug,
                name: "Demo Bank".parse()?,
                default_locale: "en".parse()?,
            },
            &meta,
        )
        .await
        .context("creating the demo tenant")?;
    let site = app
        .create_site(
            &system,
            &tenant,
            NewSite {
                name: "Central Branch".parse()?,
                timezone: "Africa/Nairobi".parse()?,
                locale: "en".parse()?,
            },
            &meta,
        )
        .await
        .context("creating the demo site")?;

    let mut services = Vec::new();
    let mut queues = Vec::new();
    for &(name, prefix, expected, sla) in SERVICES {
        let service = app
            .create_service(
                &system,
                &tenant,
                NewService {
                    site_id: site.id,
                    name: name.parse()?,
                    sla_target_secs: sla,
                    expected_duration_secs: expected,
                },
                &meta,
            )
            .await
            .with_context(|| format!("creating service {name}"))?;
        // Two priority tickets (class 1: seniors, VIP…) for each regular one while both
        // wait, and a boost for anyone who has waited 80 % of the SLA target.
        let policy = QueuePolicy {
            ratios: vec![
                ClassWeight {
                    class: 1,
                    weight: 2,
                },
                ClassWeight {
                    class: 0,
                    weight: 1,
                },
            ],
            sla_boost_percent: Some(80),
        };
        let queue = app
            .create_queue(
                &system,
                &tenant,
                NewQueue {
                    service_id: service.id,
                    name: name.parse()?,
                    prefix: prefix.parse()?,
                    policy,
                },
                &meta,
            )
            .await
            .with_context(|| format!("creating queue {prefix}"))?;
        services.push(service);
        queues.push(queue);
    }

    let mut counters = Vec::new();
    for n in 1..=3 {
        counters.push(
            app.create_counter(
                &system,
                &tenant,
                NewCounter {
                    site_id: site.id,
                    name: n.to_string().parse()?,
                },
                &meta,
            )
            .await
            .with_context(|| format!("creating counter {n}"))?,
        );
    }

    let login = |email: &str, role| NewLogin {
        email: email.to_owned(),
        password: password.clone(),
        role,
        site_id: None,
    };
    let admin = app
        .create_user(
            &system,
            Some(&tenant),
            login("admin@demo.test", Role::Admin),
            &meta,
        )
        .await
        .context("creating admin@demo.test")?;

    let mut agents = Vec::new();
    for n in 1..=3usize {
        let email = format!("agent{n}@demo.test");
        let user = app
            .create_user(&system, Some(&tenant), login(&email, Role::Agent), &meta)
            .await
            .with_context(|| format!("creating {email}"))?;
        // Everyone serves everything; each agent prefers "their" service.
        let skills = services
            .iter()
            .enumerate()
            .map(|(i, s)| Skill {
                service_id: s.id,
                weight: if i + 1 == n { 100 } else { 50 },
            })
            .collect();
        let agent = app
            .create_agent(
                &system,
                &tenant,
                NewAgent {
                    site_id: site.id,
                    user_id: Some(user.id),
                    name: format!("Agent {n}").parse()?,
                    skills,
                },
                &meta,
            )
            .await
            .with_context(|| format!("creating the agent of {email}"))?;
        agents.push((user, agent));
    }

    let root = app
        .create_user(
            &system,
            None,
            login("root@demo.test", Role::SuperAdmin),
            &meta,
        )
        .await
        .context("creating root@demo.test")?;

    // Web views (issue 5): one display and one kiosk for the branch.
    let mut devices = Vec::new();
    for (name, kind) in [
        ("Hall display", sq_store::DeviceKind::Display),
        ("Entrance kiosk", sq_store::DeviceKind::Kiosk),
    ] {
        devices.push(
            app.create_device(&system, &tenant, site.id, name, kind, &meta)
                .await
                .with_context(|| format!("pairing the demo {}", kind.as_str()))?,
        );
    }

    Ok(SeedOutcome::Seeded(Box::new(DemoSeed {
        tenant,
        site,
        services,
        queues,
        counters,
        admin,
        agents,
        root,
        password,
        password_generated,
        devices,
    })))
}

impl DemoSeed {
    /// What `seed --demo` and `serve --demo` print: the logins and, given the server's
    /// address, where to start.
    pub fn summary(&self, base_url: Option<&str>) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Seeded tenant '{}' ({}) with site '{}' ({}).",
            self.tenant.slug, self.tenant.name, self.site.name, self.site.timezone
        );
        for (svc, q) in self.services.iter().zip(&self.queues) {
            let _ = writeln!(
                s,
                "  service {:<9} queue {}  id {}  (queue {})",
                svc.name.as_str(),
                q.prefix,
                svc.id,
                q.id
            );
        }
        for c in &self.counters {
            let _ = writeln!(s, "  counter {:<9} id {}", c.name.as_str(), c.id);
        }
        let _ = writeln!(s, "Logins (password for all: {}):", self.password);
        let _ = writeln!(s, "  {:<20} admin", self.admin.email.as_str());
        for (u, a) in &self.agents {
            let _ = writeln!(s, "  {:<20} agent  (agent id {})", u.email.as_str(), a.id);
        }
        let _ = writeln!(
            s,
            "  {:<20} super_admin (platform: creates tenants)",
            self.root.email.as_str()
        );
        if self.password_generated {
            let _ = writeln!(
                s,
                "The password was generated and is not stored anywhere: note it now."
            );
        }
        if let Some(base) = base_url {
            let _ = writeln!(s, "URLs:");
            let _ = writeln!(s, "  health   {base}/api/v1/health");
            let _ = writeln!(s, "  API docs {base}/api/docs");
            let _ = writeln!(s, "  OpenAPI  {base}/api/v1/openapi.json");
            let _ = writeln!(s, "  metrics  {base}/metrics");
            // Web views (issue 5).
            let _ = writeln!(s, "  console    {base}/console     (agent1@demo.test)");
            let _ = writeln!(s, "  supervisor {base}/supervisor  (admin@demo.test)");
            let _ = writeln!(s, "  devices    {base}/admin/devices");
            for (d, key) in &self.devices {
                let _ = writeln!(
                    s,
                    "  {:<10} {base}/{}/{key}",
                    d.kind.as_str(),
                    d.kind.as_str()
                );
            }
            let _ = writeln!(
                s,
                "Try: curl -s -X POST {base}/api/v1/auth/token -H 'content-type: application/json' \
                 -d '{{\"email\":\"admin@demo.test\",\"password\":\"{}\"}}'",
                self.password
            );
        }
        s
    }
}
