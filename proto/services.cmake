# The service APIs (included by proto/CMakeLists.txt).

# propdesk.tickets.v1 — complaints, repairs, inquiries (rules T-1 … T-12).
set(PROPDESK_TICKETS_PROTOS
  propdesk/tickets/v1/ticket.proto
  propdesk/tickets/v1/sla.proto
  propdesk/tickets/v1/tickets_service.proto)
propdesk_proto_library(propdesk_tickets_proto GRPC ROOT ${CMAKE_CURRENT_SOURCE_DIR}
  PROTOS ${PROPDESK_TICKETS_PROTOS}
  DEPS googleapis_proto propdesk_type_proto)
propdesk_descriptor_set(propdesk_tickets_descriptor
  ${CMAKE_BINARY_DIR}/descriptors/propdesk_tickets.pb ${PROPDESK_TICKETS_PROTOS})
