#include "tickets/demo.h"

#include <chrono>
#include <string>

#include "common/record_number.h"
#include "tickets/convert.h"
#include "tickets/domain/sla_policy.h"
#include "tickets/domain/workflow.h"
#include "tickets/outbox_events.h"

namespace propdesk::tickets {

namespace {

using domain::Actor;
using domain::Category;
using domain::Change;
using domain::Channel;
using domain::Kind;
using domain::Ticket;
using domain::Timestamp;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

// Writes tickets as the service would: each operation's change with its
// history and its outbox events, in the caller's transaction.
class DemoWriter {
 public:
  DemoWriter(common::MysqlConnection& tx, TicketStore& store, const SiteRecord& site,
             const domain::SlaSettings& settings)
      : tx_(tx), store_(store), site_(site), settings_(settings) {}

  // A new ticket received by `staff` at `at` (its first-contact owner, C-6).
  Ticket Open(const domain::NewTicket& request, const char* staff, Timestamp at) {
    const std::string number =
        numbers_.Next(tx_, site_.code, settings_.calendar().LocalDate(at));  // C-5
    Change change =
        domain::OpenTicket(request, {"new", site_.site_id, number}, Actor{staff, at}, settings_);
    change.ticket.ticket_id = store_.Insert(tx_, change);
    AppendOutboxEvents(tx_, change);
    ++created_;
    return change.ticket;
  }

  // `op(ticket, actor)` done by `staff` at `at`.
  template <class Op>
  Ticket Then(const Ticket& ticket, const char* staff, Timestamp at, Op op) {
    const Change change = op(ticket, Actor{staff, at});
    store_.Update(tx_, change, ticket.version);
    AppendOutboxEvents(tx_, change);
    return change.ticket;
  }

  const domain::SlaSettings& settings() const { return settings_; }
  int created() const { return created_; }

 private:
  common::MysqlConnection& tx_;
  TicketStore& store_;
  const SiteRecord& site_;
  const domain::SlaSettings& settings_;
  const common::RecordNumberAllocator numbers_{"TK"};
  int created_ = 0;
};

auto Acknowledge(const std::string& note = "") {
  return [note](const Ticket& t, const Actor& a) { return domain::Acknowledge(t, a, note); };
}

auto Assign(const char* department, const char* assignee) {
  return [=](const Ticket& t, const Actor& a) {
    return domain::Assign(t, a, {department, assignee, ""});
  };
}

auto Resolve(const domain::SlaSettings& settings, domain::ResolveInput input) {
  return [&settings, input](const Ticket& t, const Actor& a) {
    return domain::Resolve(t, a, settings, input);
  };
}

// The site-local instant of `time_of_day` on the day `days_ahead` after `now`'s.
Timestamp LocalTime(const domain::SlaSettings& settings, Timestamp now, int days_ahead,
                    minutes time_of_day) {
  const std::chrono::sys_days day =
      std::chrono::sys_days{settings.calendar().LocalDate(now)} + days{days_ahead};
  return settings.calendar().ToTimestamp(std::chrono::year_month_day{day}, time_of_day);
}

// The demo tickets, on a timeline ending `now`: every deadline already past
// is met, so the scanner has nothing stale to breach, while the open
// complaint's contact deadline falls due 1 h 40 min after seeding (T-4, T-8).
void WriteDemoTickets(DemoWriter& w, Timestamp now) {
  const domain::SlaSettings& settings = w.settings();

  // 1. An open complaint, received 20 minutes ago.
  w.Open({.kind = Kind::kComplaint,
          .channel = Channel::kPhone,
          .category = Category::kServiceAttitude,
          .unit = "3-1502",
          .contact = {"Ms Chen", "138 0000 1502"},
          .description = "The guard at the north gate was rude when I asked him to open the "
                         "barrier for a delivery van."},
         kDemoFrontDesk, now - minutes(20));

  // 2. Acknowledged, with a committed reply time (T-5).
  Ticket lift = w.Open({.kind = Kind::kComplaint,
                        .channel = Channel::kHotline,
                        .category = Category::kFacilitiesEquipment,
                        .unit = "5-0801",
                        .contact = {"Mr Wu", "139 0000 0801"},
                        .description = "Lift B of building 5 makes a grinding noise between "
                                       "floors 6 and 9 since last week."},
                       kDemoFrontDesk2, now - hours(3));
  lift = w.Then(lift, kDemoFrontDesk2, now - hours(2) - minutes(30),
                Acknowledge("Called Mr Wu back; the lift contractor will inspect."));
  w.Then(lift, kDemoSupervisor, now - hours(2), [&](const Ticket& t, const Actor& a) {
    return domain::RecordCommitment(t, a, now + days(1), "Reply after the contractor's visit.");
  });

  // 3. A repair in progress with an appointment tomorrow at 10:00 (T-6).
  Ticket leak = w.Open({.kind = Kind::kRepair,
                        .channel = Channel::kApp,
                        .category = Category::kFacilitiesEquipment,
                        .unit = "2-0304",
                        .contact = {"Ms Zhang", "137 0000 0304"},
                        .description = "Water drips from the kitchen ceiling under the flat "
                                       "above."},
                       kDemoFrontDesk, now - hours(2));
  leak = w.Then(leak, kDemoFrontDesk, now - hours(1) - minutes(50), Acknowledge());
  leak = w.Then(leak, kDemoSupervisor, now - hours(1) - minutes(40),
                Assign("engineering", kDemoEngineer));
  w.Then(leak, kDemoEngineer, now - hours(1) - minutes(30), [&](const Ticket& t, const Actor& a) {
    return domain::ScheduleAppointment(t, a, LocalTime(settings, now, 1, hours(10)),
                                       "Agreed with Ms Zhang by phone.");
  });

  // 4. Resolved, awaiting its callback (due in 2 days, T-9).
  Ticket corridor = w.Open({.kind = Kind::kComplaint,
                            .channel = Channel::kWalkIn,
                            .category = Category::kServiceQuality,
                            .unit = "1-0201",
                            .contact = {"Mr Huang", "136 0000 0201"},
                            .description = "The corridor on floor 2 of building 1 has not been "
                                           "cleaned for three days."},
                           kDemoFrontDesk, now - days(2));
  corridor = w.Then(corridor, kDemoFrontDesk, now - days(2) + minutes(30), Acknowledge());
  corridor =
      w.Then(corridor, kDemoSupervisor, now - days(2) + hours(1), Assign("cleaning", kDemoCleaner));
  w.Then(corridor, kDemoCleaner, now - days(1),
         Resolve(settings, {.reply = "The corridor was cleaned this morning; the cleaning rota "
                                     "of building 1 now includes it daily.",
                            .cause = "Floor 2 was missing from the new cleaning rota.",
                            .result = "Cleaned; rota corrected.",
                            .valid_complaint = true}));

  // 5. Closed after a callback with satisfaction 5.
  Ticket lock = w.Open({.kind = Kind::kRepair,
                        .channel = Channel::kPhone,
                        .category = Category::kFacilitiesEquipment,
                        .unit = "4-1101",
                        .contact = {"Ms Lin", "135 0000 1101"},
                        .description = "The front door lock of the flat sticks and is hard to "
                                       "turn."},
                       kDemoFrontDesk2, now - days(5));
  lock = w.Then(lock, kDemoFrontDesk2, now - days(5) + minutes(10), Acknowledge());
  lock = w.Then(lock, kDemoSupervisor, now - days(5) + minutes(20),
                Assign("engineering", kDemoEngineer));
  lock = w.Then(lock, kDemoEngineer, now - days(5) + minutes(30),
                [&](const Ticket& t, const Actor& a) {
                  return domain::ScheduleAppointment(t, a, now - days(4), "");
                });
  lock = w.Then(lock, kDemoEngineer, now - days(4) - minutes(10),
                [](const Ticket& t, const Actor& a) { return domain::RecordArrival(t, a, ""); });
  lock = w.Then(lock, kDemoEngineer, now - days(4) + hours(1),
                Resolve(settings, {.reply = "The lock cylinder was cleaned and lubricated.",
                                   .result = "Lock works smoothly."}));
  lock = w.Then(lock, kDemoSupervisor, now - days(3), [&](const Ticket& t, const Actor& a) {
    return domain::RecordCallback(t, a, settings, 5, "Very quick, thank you.");
  });
  w.Then(lock, kDemoSupervisor, now - days(3) + minutes(5),
         [](const Ticket& t, const Actor& a) { return domain::Close(t, a, ""); });

  // 6. An incident with its special report raised; the written report is due
  // by the end of the next day (T-8).
  Ticket flood = w.Open({.kind = Kind::kIncident,
                         .channel = Channel::kPatrol,
                         .category = Category::kEmergency,
                         .description = "Burst water pipe in car park B2, about 5 cm of water "
                                        "around spaces 210-230."},
                        kDemoDutyManager, now - hours(6));
  flood = w.Then(flood, kDemoDutyManager, now - hours(5) - minutes(50), Acknowledge());
  flood = w.Then(flood, kDemoDutyManager, now - hours(5) - minutes(45),
                 Assign("engineering", kDemoEngineer));
  w.Then(flood, kDemoDutyManager, now - hours(5), [&](const Ticket& t, const Actor& a) {
    return domain::RaiseIncidentReport(
        t, a, settings,
        "Main valve closed at once; water pumped out; residents of the affected spaces told "
        "to move their cars.",
        {"demo/incidents/b2-flood-1.jpg", "demo/incidents/b2-flood-2.jpg"});
  });

  // 7. An inquiry answered and closed (no callback needed).
  Ticket water = w.Open({.kind = Kind::kInquiry,
                         .channel = Channel::kWalkIn,
                         .category = Category::kOther,
                         .unit = "6-0502",
                         .description = "When will the water supply be back after today's "
                                        "maintenance?"},
                        kDemoFrontDesk2, now - days(1));
  water = w.Then(water, kDemoFrontDesk2, now - days(1) + minutes(1), Acknowledge());
  water = w.Then(water, kDemoFrontDesk2, now - days(1) + minutes(5),
                 Resolve(settings, {.reply = "Water returns at 16:00 today."}));
  w.Then(water, kDemoFrontDesk2, now - days(1) + minutes(6),
         [](const Ticket& t, const Actor& a) { return domain::Close(t, a, ""); });

  // 8. A patrol finding, acknowledged and annotated.
  Ticket lamp = w.Open({.kind = Kind::kPatrolFinding,
                        .channel = Channel::kPatrol,
                        .category = Category::kFacilitiesEquipment,
                        .description = "Two garden path lamps near building 6 are out."},
                       kDemoSecurity, now - hours(4));
  lamp = w.Then(lamp, kDemoFrontDesk, now - hours(3), Acknowledge());
  w.Then(lamp, kDemoFrontDesk, now - hours(3) + minutes(2), [](const Ticket& t, const Actor& a) {
    return domain::AddNote(t, a, "Bulbs ordered; engineering to replace them on delivery.");
  });
}

}  // namespace

int SeedDemoData(common::MysqlPool& pool, TicketStore& store) {
  const SiteRecord site{kDemoSiteId, kDemoGroupId, "SZ01", "Shenzhen Demo Garden"};
  domain::SlaPolicy policy = domain::DefaultSlaPolicy();
  policy.unit_count = kDemoUnitCount;
  const domain::SlaSettings settings = domain::SlaSettings::Create(policy);
  return pool.WithTransaction([&](common::MysqlConnection& tx) {
    // The upsert row-locks the site, so seeders starting at once queue here
    // and the later one finds the policy the earlier one committed.
    store.UpsertSite(tx, site);
    if (store.FindPolicy(tx, site.site_id, /*for_update=*/true)) return 0;  // seeded before
    const Timestamp now = std::chrono::system_clock::now();
    v1::SlaPolicy stored;
    ToProto(settings.policy(), &stored);
    stored.set_site_id(site.site_id);
    stored.set_updated_by("demo-seed");
    ToProto(now, stored.mutable_update_time());
    store.SavePolicy(tx, site.site_id, stored.SerializeAsString());
    DemoWriter writer(tx, store, site, settings);
    WriteDemoTickets(writer, now);
    return writer.created();
  });
}

}  // namespace propdesk::tickets
