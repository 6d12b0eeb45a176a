#include "gateway/route_table.h"

#include <google/api/annotations.pb.h>
#include <google/api/http.pb.h>

#include <algorithm>
#include <utility>

#include "common/errors.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
using common::Error;
using common::ErrorKind;

struct Rule {
  std::string http_method;
  std::string path;
  std::string body;
  std::string response_body;
  int binding_index = 0;
};

// The rule's (method, path), or false when the pattern is unset.
bool PatternOf(const google::api::HttpRule& rule, std::string* method, std::string* path) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      *method = "GET";
      *path = rule.get();
      return true;
    case google::api::HttpRule::kPut:
      *method = "PUT";
      *path = rule.put();
      return true;
    case google::api::HttpRule::kPost:
      *method = "POST";
      *path = rule.post();
      return true;
    case google::api::HttpRule::kDelete:
      *method = "DELETE";
      *path = rule.delete_();
      return true;
    case google::api::HttpRule::kPatch:
      *method = "PATCH";
      *path = rule.patch();
      return true;
    case google::api::HttpRule::kCustom:
      *method = rule.custom().kind();
      *path = rule.custom().path();
      std::transform(method->begin(), method->end(), method->begin(), ::toupper);
      return !method->empty();
    default:
      return false;
  }
}

// Collects the problems of one start-up, so a broken API gets one message
// listing all of them rather than one restart per problem.
class Problems {
 public:
  void Add(const pb::MethodDescriptor& method, const std::string& what) {
    if (!text_.empty()) text_ += "\n";
    text_ += method.full_name() + ": " + what;
  }
  void Add(const std::string& what) {
    if (!text_.empty()) text_ += "\n";
    text_ += what;
  }
  void ThrowIfAny() const {
    if (!text_.empty()) {
      throw Error(ErrorKind::kInvalidArgument, "BAD_ROUTES",
                  "the services' google.api.http rules cannot be served:\n" + text_);
    }
  }

 private:
  std::string text_;
};

const pb::FieldDescriptor* TopLevel(const pb::Descriptor* message, const char* name,
                                    pb::FieldDescriptor::CppType type) {
  const pb::FieldDescriptor* field = message->FindFieldByName(name);
  if (field == nullptr || field->is_repeated() || field->cpp_type() != type) return nullptr;
  return field;
}

void CheckVariableField(const pb::MethodDescriptor& method, const Rule& rule,
                        const TemplateVariable& variable, const FieldPath& path,
                        Problems* problems) {
  if (path.empty()) {
    problems->Add(method, "path \"" + rule.path + "\": variable {" + variable.field_path +
                              "} names no field of " + method.input_type()->full_name());
    return;
  }
  const pb::FieldDescriptor* leaf = path.back();
  if (leaf->is_repeated() || leaf->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    problems->Add(method, "path \"" + rule.path + "\": variable {" + variable.field_path +
                              "} must name a singular scalar field");
  }
  if (variable.multi_segment && leaf->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) {
    problems->Add(method, "path \"" + rule.path + "\": multi-segment variable {" +
                              variable.field_path + "} must name a string field");
  }
}

void AddRoute(const pb::MethodDescriptor& method, const Rule& rule, const std::string& upstream,
              std::vector<Route>* routes, Problems* problems) {
  Route route;
  route.http_method = rule.http_method;
  route.method = &method;
  route.upstream = upstream;
  route.binding_index = rule.binding_index;
  route.grpc_path = "/" + method.service()->full_name() + "/" + method.name();
  try {
    route.path = PathTemplate::Parse(rule.path);
  } catch (const Error& e) {
    problems->Add(method, e.what());
    return;
  }
  route.label = rule.http_method + " " + route.path.text();
  const pb::Descriptor* input = method.input_type();
  for (const TemplateVariable& variable : route.path.variables()) {
    FieldPath path = ResolveFieldPath(input, variable.field_path, /*json_names=*/false);
    CheckVariableField(method, rule, variable, path, problems);
    route.variable_fields.push_back(std::move(path));
  }
  route.body = rule.body;
  if (!rule.body.empty() && rule.body != "*") {
    route.body_field = input->FindFieldByName(rule.body);
    if (route.body_field == nullptr) {
      problems->Add(method,
                    "body \"" + rule.body + "\" names no top-level field of " + input->full_name());
    }
  }
  if (!rule.body.empty() && (rule.http_method == "GET" || rule.http_method == "DELETE")) {
    problems->Add(method, rule.http_method + " \"" + rule.path + "\" cannot have a body");
  }
  if (!rule.response_body.empty()) {
    route.response_body_field = method.output_type()->FindFieldByName(rule.response_body);
    if (route.response_body_field == nullptr || route.response_body_field->is_repeated() ||
        route.response_body_field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      problems->Add(method, "response_body \"" + rule.response_body +
                                "\" must name a singular message field of " +
                                method.output_type()->full_name());
    }
  }
  route.request_id_field = TopLevel(input, "request_id", pb::FieldDescriptor::CPPTYPE_STRING);
  route.site_id_field = TopLevel(input, "site_id", pb::FieldDescriptor::CPPTYPE_STRING);
  route.page_size_field = TopLevel(input, "page_size", pb::FieldDescriptor::CPPTYPE_INT32);
  routes->push_back(std::move(route));
}

// The rule and its additional bindings as a flat list.
std::vector<Rule> RulesOf(const pb::MethodDescriptor& method, Problems* problems) {
  if (!method.options().HasExtension(google::api::http)) return {};
  const google::api::HttpRule& http = method.options().GetExtension(google::api::http);
  std::vector<Rule> rules;
  auto add = [&](const google::api::HttpRule& rule, int index) {
    Rule r;
    if (!PatternOf(rule, &r.http_method, &r.path)) {
      problems->Add(method,
                    "google.api.http rule without a pattern (get/put/post/delete/patch/custom)");
      return;
    }
    r.body = rule.body();
    r.response_body = rule.response_body();
    r.binding_index = index;
    rules.push_back(std::move(r));
  };
  add(http, 0);
  for (int i = 0; i < http.additional_bindings_size(); ++i) {
    if (http.additional_bindings(i).additional_bindings_size() > 0) {
      problems->Add(method, "additional_bindings cannot nest additional_bindings");
    }
    add(http.additional_bindings(i), i + 1);
  }
  return rules;
}

bool HasAnyRule(const pb::ServiceDescriptor& service) {
  for (int i = 0; i < service.method_count(); ++i) {
    if (service.method(i)->options().HasExtension(google::api::http)) return true;
  }
  return false;
}

std::string Describe(const Route& route) {
  return route.label + " (" + route.method->full_name() + ")";
}

}  // namespace

FieldPath ResolveFieldPath(const pb::Descriptor* message, std::string_view path, bool json_names) {
  FieldPath out;
  while (true) {
    const size_t dot = path.find('.');
    const std::string name(path.substr(0, dot));
    if (message == nullptr || name.empty()) return {};
    const pb::FieldDescriptor* field = message->FindFieldByName(name);
    for (int i = 0; field == nullptr && json_names && i < message->field_count(); ++i) {
      if (message->field(i)->json_name() == name) field = message->field(i);
    }
    if (field == nullptr) return {};
    out.push_back(field);
    if (dot == std::string_view::npos) return out;
    if (field->is_repeated() || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return {};
    }
    message = field->message_type();
    path.remove_prefix(dot + 1);
  }
}

std::string FieldPathName(const FieldPath& path) {
  std::string out;
  for (const pb::FieldDescriptor* field : path) {
    if (!out.empty()) out.push_back('.');
    out += field->name();
  }
  return out;
}

RouteTable RouteTable::Build(const std::vector<const pb::ServiceDescriptor*>& services,
                             const UpstreamFor& upstream_for) {
  RouteTable table;
  Problems problems;
  for (const pb::ServiceDescriptor* service : services) {
    if (!HasAnyRule(*service)) continue;
    const std::string upstream = upstream_for(*service);
    if (upstream.empty()) {
      problems.Add(service->full_name() +
                   ": no upstream is configured for this service (add it to GATEWAY_UPSTREAMS)");
      continue;
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor& method = *service->method(i);
      std::vector<Rule> rules = RulesOf(method, &problems);
      if (!rules.empty() && (method.client_streaming() || method.server_streaming())) {
        problems.Add(method,
                     "streaming RPCs cannot be transcoded; remove its google.api.http rule");
        continue;
      }
      for (const Rule& rule : rules) AddRoute(method, rule, upstream, &table.routes_, &problems);
    }
  }
  const std::vector<Route>& routes = table.routes_;
  for (size_t i = 0; i < routes.size(); ++i) {
    for (size_t j = i + 1; j < routes.size(); ++j) {
      if (routes[i].http_method == routes[j].http_method &&
          PathTemplate::Overlaps(routes[i].path, routes[j].path)) {
        problems.Add("ambiguous routes: " + Describe(routes[i]) + " and " + Describe(routes[j]) +
                     " can match the same request");
      }
    }
  }
  problems.ThrowIfAny();
  return table;
}

bool RouteTable::MatchRoute(const Route& route, std::vector<std::string_view> segments,
                            std::vector<PathBinding>* bindings) const {
  std::string_view verb;
  if (!route.path.verb().empty() && !SplitVerb(&segments, &verb)) return false;
  return route.path.Match(segments, verb, bindings);
}

RouteTable::Match RouteTable::Find(std::string_view http_method, std::string_view path) const {
  Match match;
  std::vector<std::string_view> segments;
  if (!SplitPath(path, &segments)) return match;
  // Routes with a custom verb first: "/things/t1:resolve" is the verb
  // "resolve" on t1 whenever such a route exists, never a thing "t1:resolve".
  for (const bool with_verb : {true, false}) {
    for (const Route& route : routes_) {
      if (route.http_method != http_method || route.path.verb().empty() != !with_verb) continue;
      if (MatchRoute(route, segments, &match.bindings)) {
        match.route = &route;
        return match;
      }
    }
  }
  std::vector<PathBinding> ignored;
  for (const Route& route : routes_) {
    if (route.http_method == http_method) continue;
    ignored.clear();
    if (MatchRoute(route, segments, &ignored) &&
        std::find(match.allowed_methods.begin(), match.allowed_methods.end(), route.http_method) ==
            match.allowed_methods.end()) {
      match.allowed_methods.push_back(route.http_method);
    }
  }
  return match;
}

}  // namespace propdesk::gateway
