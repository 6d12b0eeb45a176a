// MysqlTicketStore against the run's real MariaDB: round trips, site scope,
// optimistic locking, the scanner's window and the counts behind
// GetSlaSummary and the gauges.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/errors.h"
#include "tickets/mysql_store.h"
#include "tickets/test/store_test_support.h"

namespace propdesk::tickets {
namespace {

using domain::DeadlineKind;
using domain::Kind;
using domain::State;
using domain::Ticket;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using test_support::Micros;

// 2030-06-03 00:00:00 UTC, a Monday: a time far from the tests' "now", so
// windows over it see only what a test put there.
const domain::Timestamp kMonday = Micros(1'906'675'200'000'000);

class MysqlTicketStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pool_ = test_support::MigratedPool("tickets_store").release(); }
  static void TearDownTestSuite() {
    delete pool_;
    pool_ = nullptr;
  }

  template <class F>
  static auto Tx(F&& fn) {
    return pool_->WithTransaction(std::forward<F>(fn));
  }

  // A ticket with every field set (instants at microsecond precision, as stored).
  static domain::Change EveryFieldTicket(const std::string& site_id) {
    Ticket t;
    t.site_id = site_id;
    t.record_number = "TK-" + site_id + "-300603001";
    t.kind = Kind::kRepair;
    t.channel = domain::Channel::kHotline;
    t.category = domain::Category::kEmergency;
    t.priority = domain::Priority::kUrgent;
    t.state = State::kInProgress;
    t.unit = "7-0707";
    t.contact = {"马先生", "+86 135 0000 1111"};
    t.description = "地下车库B2水管爆裂 — burst pipe";
    t.first_contact_owner_id = "desk-1";
    t.owner_id = "desk-2";
    t.department = "engineering";
    t.assignee_id = "eng-1";
    const auto at = [](int minutes_after) {
      return kMonday + minutes(minutes_after) + microseconds(7);
    };
    t.deadlines[DeadlineKind::kContact] = {.due = at(120), .met_at = at(30)};
    t.deadlines[DeadlineKind::kDecision] = {.due = at(6000), .breached = true};
    t.deadlines[DeadlineKind::kOnSite] = {.due = at(120)};
    t.deadlines[DeadlineKind::kAppointment] = {.due = at(300), .breached = true, .met_at = at(400)};
    t.deadlines[DeadlineKind::kCommitment] = {.due = at(500)};
    t.deadlines[DeadlineKind::kCallback] = {.due = at(9000)};
    t.deadlines[DeadlineKind::kIncidentReport] = {.due = at(2000), .met_at = at(1500)};
    t.breach_count = 2;
    t.escalation = domain::EscalationLevel::kSiteManager;
    t.appointment_reschedule_count = 1;
    t.duplicate_count = 3;
    t.reopen_count = 1;
    t.resolution =
        domain::Resolution{.reply = "pipe replaced",
                           .cause = "frost",
                           .result = "fixed",
                           .handler_id = "eng-1",
                           .resolved_by = "desk-2",
                           .resolved_at = at(600),
                           .valid_complaint = false,
                           .referral = domain::Referral{"City Water", "Mr Qian", "96116"}};
    t.callback = domain::Callback{
        .satisfaction = 4, .comments = "ok", .recorded_by = "cs-1", .recorded_at = at(700)};
    t.incident_report = domain::IncidentReport{.summary = "flooded B2",
                                               .photo_refs = {"p/1.jpg", "p/2.jpg"},
                                               .raised_by = "duty-1",
                                               .raised_at = at(60),
                                               .written_report = "full report",
                                               .written_report_by = "duty-1",
                                               .written_report_at = at(1500)};
    t.version = 7;
    t.created_at = at(0);
    t.updated_at = at(700);

    domain::Change change{.ticket = t};
    change.events.push_back({.type = domain::EventType::kCreated,
                             .actor_id = "desk-1",
                             .at = at(0),
                             .from_state = State::kOpen,
                             .to_state = State::kOpen,
                             .details = {{"kind", "repair"}, {"unit", "7-0707"}}});
    change.events.push_back({.type = domain::EventType::kTransferred,
                             .actor_id = "desk-1",
                             .at = at(10),
                             .reason = "end of shift",
                             .from_state = State::kOpen,
                             .to_state = State::kOpen,
                             .details = {{"new_owner_id", "desk-2"}}});
    change.events.push_back({.type = domain::EventType::kCallbackRecorded,
                             .actor_id = "cs-1",
                             .at = at(700),
                             .from_state = State::kResolved,
                             .to_state = State::kInProgress,
                             .details = {{"satisfaction", "4"}}});
    return change;
  }

  static inline common::MysqlPool* pool_ = nullptr;
  static inline MysqlTicketStore store_;
};

TEST_F(MysqlTicketStoreTest, InsertAndFindRoundTripEveryFieldDeadlinesAndHistory) {
  domain::Change change = EveryFieldTicket("RT01");
  const std::string id = Tx([&](auto& tx) { return store_.Insert(tx, change); });
  ASSERT_TRUE(ParseTicketId(id).has_value()) << id;
  change.ticket.ticket_id = id;

  const std::optional<Ticket> found =
      Tx([&](auto& tx) { return store_.Find(tx, "RT01", id, false); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, change.ticket);  // every field, the deadlines' due/met/breached included
  // The read is one join (a row per deadline); the locking read, two
  // statements: both give the same ticket.
  EXPECT_EQ(Tx([&](auto& tx) { return store_.Find(tx, "RT01", id, true); }), found);
  EXPECT_EQ(pool_->WithAutocommit([&](auto& conn) { return store_.Find(conn, "RT01", id, false); }),
            found);

  domain::Change bare = EveryFieldTicket("RT01");  // no deadlines: the join's row has none
  bare.ticket.record_number = "TK-RT01-300603002";
  bare.ticket.deadlines.clear();
  bare.ticket.ticket_id = Tx([&](auto& tx) { return store_.Insert(tx, bare); });
  EXPECT_EQ(Tx([&](auto& tx) { return store_.Find(tx, "RT01", bare.ticket.ticket_id, false); }),
            bare.ticket);

  const std::vector<StoredEvent> events =
      Tx([&](auto& tx) { return store_.ListEvents(tx, id, 0, 100); });
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence, static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].event, change.events[i]) << i;
  }
  const std::vector<StoredEvent> after_first =
      Tx([&](auto& tx) { return store_.ListEvents(tx, id, 1, 1); });
  ASSERT_EQ(after_first.size(), 1u);
  EXPECT_EQ(after_first[0].sequence, 2);
  EXPECT_EQ(after_first[0].event.reason, "end of shift");
}

// A batch of creates (tickets/creator.h) writes its tickets in one go, with
// the ids it took beforehand; a change without one is refused whole.
TEST_F(MysqlTicketStoreTest, InsertAllWritesEveryTicketWithItsIdDeadlinesAndHistory) {
  std::vector<domain::Change> changes;
  for (int i = 0; i < 3; ++i) {
    changes.push_back(EveryFieldTicket("IA01"));
    changes.back().ticket.ticket_id = std::to_string(900000 + i);
    changes.back().ticket.record_number = "TK-IA01-240214" + std::to_string(100 + i);
  }
  Tx([&](auto& tx) { store_.InsertAll(tx, {&changes[0], &changes[1], &changes[2]}); });
  for (const domain::Change& change : changes) {
    const std::optional<Ticket> found =
        Tx([&](auto& tx) { return store_.Find(tx, "IA01", change.ticket.ticket_id, false); });
    ASSERT_TRUE(found.has_value()) << change.ticket.ticket_id;
    EXPECT_EQ(*found, change.ticket);
    EXPECT_EQ(
        Tx([&](auto& tx) { return store_.ListEvents(tx, change.ticket.ticket_id, 0, 100); }).size(),
        3u);
  }
  domain::Change without_id = EveryFieldTicket("IA01");
  without_id.ticket.ticket_id = "new";
  domain::Change with_id = EveryFieldTicket("IA01");
  with_id.ticket.ticket_id = "900010";
  with_id.ticket.record_number = "TK-IA01-240214110";
  EXPECT_THROW(Tx([&](auto& tx) { store_.InsertAll(tx, {&with_id, &without_id}); }), common::Error);
  EXPECT_FALSE(Tx([&](auto& tx) { return store_.Find(tx, "IA01", "900010", false); }).has_value());
}

// T-11 for a whole batch in one query: the tickets of the probed units
// created since the window start, in id order; other units, older tickets
// and other sites are not returned (category and kind are the domain's to
// check).
TEST_F(MysqlTicketStoreTest, T11_DuplicateCandidatesOfManyProbesInOneQuery) {
  test_support::DomainWriter w(*pool_, store_);
  const auto at = [](int64_t minute) {
    return Micros(1'700'000'000'000'000 + minute * 60'000'000);
  };
  const std::string u1 = "DC-" + propdesk::testing::UniqueSuffix().substr(0, 6);
  const std::string u2 = u1 + "-b";
  w.Open("DC01", Kind::kRepair, at(0), u1);  // before the window
  const Ticket first = w.Open("DC01", Kind::kRepair, at(30), u1);
  const Ticket complaint = w.Open("DC01", Kind::kComplaint, at(31), u1);
  const Ticket second = w.Open("DC01", Kind::kRepair, at(32), u2);
  w.Open("DC01", Kind::kRepair, at(33), u1 + "-other");
  w.Open("DC02", Kind::kRepair, at(34), u1);
  std::vector<domain::DuplicateProbe> probes(3);
  probes[0].unit = u1;
  probes[1].unit = u2;
  probes[2].unit = u1;  // the same unit twice: asked once
  const std::vector<domain::DuplicateCandidate> found =
      Tx([&](auto& tx) { return store_.DuplicateCandidates(tx, "DC01", probes, at(10)); });
  std::vector<std::string> ids;
  for (const auto& c : found) ids.push_back(c.ticket_id);
  EXPECT_EQ(ids,
            (std::vector<std::string>{first.ticket_id, complaint.ticket_id, second.ticket_id}));
  EXPECT_TRUE(
      Tx([&](auto& tx) { return store_.DuplicateCandidates(tx, "DC01", {}, at(10)); }).empty());
}

TEST_F(MysqlTicketStoreTest, C1_AnotherSitesOrAMalformedIdFindsNothing) {
  const domain::Change change = EveryFieldTicket("RT02");
  const std::string id = Tx([&](auto& tx) { return store_.Insert(tx, change); });
  Tx([&](auto& tx) {
    EXPECT_TRUE(store_.Find(tx, "RT02", id, false).has_value());
    EXPECT_FALSE(store_.Find(tx, "RT03", id, false).has_value());
    EXPECT_FALSE(store_.Find(tx, "RT03", id, true).has_value());
    for (const char* bad : {"", "abc", "0", "-1", "1e3", "99999999999999", "1234567890123456789"}) {
      EXPECT_FALSE(store_.Find(tx, "RT02", bad, false).has_value()) << bad;
    }
    EXPECT_TRUE(store_.ListEvents(tx, "abc", 0, 10).empty());
  });
}

TEST_F(MysqlTicketStoreTest, UpdateAtAStaleVersionIsAVersionConflictAndWritesNothing) {
  test_support::DomainWriter writer(*pool_, store_);
  const Ticket opened = writer.Open("UV01", Kind::kComplaint, kMonday);
  const domain::Change noted =
      domain::AddNote(opened, {"desk-1", kMonday + minutes(1)}, "first note");
  Tx([&](auto& tx) { store_.Update(tx, noted, opened.version); });

  // A second writer that loaded the same version loses.
  const domain::Change late = domain::AddNote(opened, {"desk-2", kMonday + minutes(2)}, "late");
  try {
    Tx([&](auto& tx) { store_.Update(tx, late, opened.version); });
    ADD_FAILURE() << "a stale version was written";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.kind(), common::ErrorKind::kAborted);
    EXPECT_EQ(e.reason(), "VERSION_CONFLICT");
  }
  // So does a change addressed through another site (C-1).
  domain::Change elsewhere = domain::AddNote(noted.ticket, {"desk-2", kMonday}, "x");
  elsewhere.ticket.site_id = "UV02";
  EXPECT_THROW(Tx([&](auto& tx) { store_.Update(tx, elsewhere, noted.ticket.version); }),
               common::Error);

  const Ticket stored =
      *Tx([&](auto& tx) { return store_.Find(tx, "UV01", opened.ticket_id, false); });
  EXPECT_EQ(stored.version, opened.version + 1);
  const std::vector<StoredEvent> events =
      Tx([&](auto& tx) { return store_.ListEvents(tx, opened.ticket_id, 0, 100); });
  ASSERT_EQ(events.size(), 2u);  // created + the first note only
  EXPECT_EQ(events[1].event.details.at("text"), "first note");
}

TEST_F(MysqlTicketStoreTest, T8_DueDeadlinesIsTheWindowOpenBelowClosedAbove) {
  const domain::Timestamp from = kMonday + days(400);
  const domain::Timestamp to = from + minutes(10);
  domain::Change change = EveryFieldTicket("DW01");
  auto& d = change.ticket.deadlines;
  d.clear();
  d[DeadlineKind::kContact] = {.due = from};                                  // at `from`: out
  d[DeadlineKind::kDecision] = {.due = from + microseconds(1)};               // in
  d[DeadlineKind::kOnSite] = {.due = to};                                     // at `to`: in
  d[DeadlineKind::kAppointment] = {.due = to + microseconds(1)};              // out
  d[DeadlineKind::kCommitment] = {.due = from + minutes(5), .met_at = from};  // met: out
  d[DeadlineKind::kCallback] = {.due = from + minutes(6), .breached = true};  // recorded: out
  const std::string id = Tx([&](auto& tx) { return store_.Insert(tx, change); });

  const std::vector<DueDeadlineRef> due =
      Tx([&](auto& tx) { return store_.DueDeadlines(tx, from, to); });
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].kind, DeadlineKind::kDecision);  // earliest first
  EXPECT_EQ(due[1].kind, DeadlineKind::kOnSite);
  for (const DueDeadlineRef& ref : due) {
    EXPECT_EQ(ref.site_id, "DW01");
    EXPECT_EQ(ref.ticket_id, id);
  }
  // The next window starts where this one ended: nothing is seen twice.
  const std::vector<DueDeadlineRef> next =
      Tx([&](auto& tx) { return store_.DueDeadlines(tx, to, to + minutes(10)); });
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].kind, DeadlineKind::kAppointment);
}

TEST_F(MysqlTicketStoreTest, T9_CountSlaCountsOpenWorkNowAndThePeriodsFigures) {
  test_support::DomainWriter w(*pool_, store_);
  const domain::Timestamp start = kMonday;
  const domain::Timestamp end = kMonday + days(10);
  const domain::Timestamp now = kMonday + days(5);  // Saturday 08:00 site time
  // T1: open complaint received an hour ago; contact due exactly now + 1 h.
  w.Open("CS01", Kind::kComplaint, now - hours(1));
  // T2: valid complaint, called back (5) within the period.
  Ticket t2 =
      w.Resolve(w.Acknowledge(w.Open("CS01", Kind::kComplaint, start + hours(1)), start + hours(2)),
                start + hours(3), /*valid=*/true);
  w.Callback(t2, start + days(1), 5);
  // T3: received before the period, resolved in it; its callback is owed.
  w.Resolve(w.Acknowledge(w.Open("CS01", Kind::kComplaint, start - days(2)), start - days(2)),
            start + hours(1));
  // T4: an acknowledged repair.
  w.Acknowledge(w.Open("CS01", Kind::kRepair, start + hours(2)), start + hours(3));
  // T5: an open complaint whose contact deadline the scanner recorded as breached.
  const Ticket t5 = w.Open("CS01", Kind::kComplaint, start + days(1));
  w.Then(t5, start + days(1) + hours(3), [](const Ticket& t, const domain::Actor& a) {
    return *domain::RecordBreach(t, DeadlineKind::kContact, a.now);
  });
  // T6: an inquiry answered and closed.
  w.Close(
      w.Resolve(w.Acknowledge(w.Open("CS01", Kind::kInquiry, start + hours(1)), start + hours(2)),
                start + hours(3)),
      start + hours(4));
  // Another site's ticket counts nowhere here.
  w.Callback(
      w.Resolve(w.Acknowledge(w.Open("CS02", Kind::kComplaint, start + hours(1)), start + hours(2)),
                start + hours(3), true),
      start + days(1), 1);

  const SlaCounts c = Tx([&](auto& tx) { return store_.CountSla(tx, "CS01", start, end, now); });
  EXPECT_EQ(c.open_by_state, (std::map<State, int64_t>{{State::kOpen, 2},
                                                       {State::kAcknowledged, 1},
                                                       {State::kResolved, 1},
                                                       {State::kCallbackDone, 1}}));
  EXPECT_EQ(c.open_by_kind, (std::map<Kind, int64_t>{{Kind::kComplaint, 4}, {Kind::kRepair, 1}}));
  EXPECT_EQ(c.breached, 1);
  EXPECT_EQ(c.due_within_next_hour, 1);  // T1's contact, due at the window's closed end
  EXPECT_EQ(c.callbacks_due, 2);         // T2, T3
  EXPECT_EQ(c.callbacks_done, 1);        // T2
  EXPECT_EQ(c.complaints_received, 3);   // T1, T2, T5
  EXPECT_EQ(c.valid_complaints, 1);      // T2
  EXPECT_EQ(c.satisfaction_responses, 1);
  EXPECT_EQ(c.satisfaction_sum, 5);

  // A moment later T1's contact deadline is no longer "within the next hour"
  // of anything but itself: (now, now + 1 h] is open below.
  const SlaCounts at_due =
      Tx([&](auto& tx) { return store_.CountSla(tx, "CS01", start, end, now + hours(1)); });
  EXPECT_EQ(at_due.due_within_next_hour, 0);
}

TEST_F(MysqlTicketStoreTest, CountOpenWorkGroupsBySiteKindAndStateAndSplitsCallbacksAtTheirDue) {
  test_support::DomainWriter w(*pool_, store_);
  const domain::Timestamp now = kMonday + days(100);
  w.Open("OW01", Kind::kComplaint, now - hours(1));
  w.Open("OW01", Kind::kComplaint, now - hours(2));
  w.Acknowledge(w.Open("OW01", Kind::kComplaint, now - hours(3)), now - hours(2));
  // A repair resolved now: its callback is due in 7 days (T-9).
  const Ticket repair =
      w.Resolve(w.Acknowledge(w.Open("OW01", Kind::kRepair, now - hours(5)), now - hours(4)), now);
  // A complaint resolved 4 days ago: its 3-day callback is overdue.
  w.Resolve(w.Acknowledge(w.Open("OW01", Kind::kComplaint, now - days(5)), now - days(5)),
            now - days(4));
  w.Close(w.Resolve(w.Acknowledge(w.Open("OW01", Kind::kInquiry, now - hours(2)), now - hours(2)),
                    now - hours(1)),
          now);
  w.Open("OW02", Kind::kRepair, now - hours(1));

  auto open_of = [](const OpenWorkCounts& counts) {
    std::map<std::tuple<std::string, Kind, State>, int64_t> out;
    for (const auto& row : counts.open) {
      if (row.site_id.starts_with("OW")) out[{row.site_id, row.kind, row.state}] = row.count;
    }
    return out;
  };
  auto callbacks_of = [](const OpenWorkCounts& counts) {
    std::map<std::pair<std::string, Kind>, std::pair<int64_t, int64_t>> out;
    for (const auto& row : counts.callbacks) {
      if (row.site_id.starts_with("OW")) out[{row.site_id, row.kind}] = {row.due, row.overdue};
    }
    return out;
  };
  const OpenWorkCounts counts = Tx([&](auto& tx) { return store_.CountOpenWork(tx, now); });
  EXPECT_EQ(open_of(counts), (std::map<std::tuple<std::string, Kind, State>, int64_t>{
                                 {{"OW01", Kind::kComplaint, State::kOpen}, 2},
                                 {{"OW01", Kind::kComplaint, State::kAcknowledged}, 1},
                                 {{"OW01", Kind::kComplaint, State::kResolved}, 1},
                                 {{"OW01", Kind::kRepair, State::kResolved}, 1},
                                 {{"OW02", Kind::kRepair, State::kOpen}, 1}}));
  using Callbacks = std::map<std::pair<std::string, Kind>, std::pair<int64_t, int64_t>>;
  EXPECT_EQ(callbacks_of(counts),
            (Callbacks{{{"OW01", Kind::kComplaint}, {0, 1}}, {{"OW01", Kind::kRepair}, {1, 0}}}));

  // Due is inclusive: at its due instant a callback is not overdue yet, a
  // microsecond later it is.
  const domain::Timestamp repair_due = *repair.DueOf(DeadlineKind::kCallback);
  EXPECT_EQ(callbacks_of(Tx([&](auto& tx) {
              return store_.CountOpenWork(tx, repair_due);
            })).at({"OW01", Kind::kRepair}),
            std::make_pair(int64_t{1}, int64_t{0}));
  EXPECT_EQ(callbacks_of(Tx([&](auto& tx) {
              return store_.CountOpenWork(tx, repair_due + microseconds(1));
            })).at({"OW01", Kind::kRepair}),
            std::make_pair(int64_t{0}, int64_t{1}));
}

}  // namespace
}  // namespace propdesk::tickets
