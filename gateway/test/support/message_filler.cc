#include "support/message_filler.h"

#include <google/protobuf/empty.pb.h>

#include "propdesk/testing/v1/transcode.pb.h"
#include "propdesk/tickets/v1/tickets_service.pb.h"

namespace propdesk::gateway::test {
namespace {

namespace pb = google::protobuf;

void AddMessagesOf(const pb::FileDescriptor* file, std::vector<const pb::Descriptor*>* out) {
  for (int i = 0; i < file->message_type_count(); ++i) out->push_back(file->message_type(i));
}

}  // namespace

std::vector<const pb::Descriptor*> ApiMessageTypes() {
  std::vector<const pb::Descriptor*> types;
  for (const pb::Descriptor* d :
       {tickets::v1::CreateTicketResponse::descriptor(), testing::v1::Thing::descriptor()}) {
    AddMessagesOf(d->file(), &types);
    for (int i = 0; i < d->file()->dependency_count(); ++i) {
      AddMessagesOf(d->file()->dependency(i), &types);
    }
  }
  types.push_back(pb::Empty::descriptor());
  return types;
}

}  // namespace propdesk::gateway::test
