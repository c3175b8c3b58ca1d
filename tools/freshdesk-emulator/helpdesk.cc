#include "helpdesk.h"

namespace deskpipe::emulator {
namespace {

template <typename T>
void IndexById(const std::vector<T>& items, std::unordered_map<int64_t, size_t>* index) {
  index->clear();
  index->reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) index->emplace(items[i].id, i);
}

template <typename T>
const T* Lookup(const std::vector<T>& items, const std::unordered_map<int64_t, size_t>& index, int64_t id) {
  auto it = index.find(id);
  return it == index.end() ? nullptr : &items[it->second];
}

}  // namespace

const Ticket* Helpdesk::FindTicket(int64_t id) const {
  if (id < 1 || static_cast<uint64_t>(id) > tickets.size()) return nullptr;
  return &tickets[static_cast<size_t>(id - 1)];
}
const Agent* Helpdesk::FindAgent(int64_t id) const { return Lookup(agents, agent_index_, id); }
const Group* Helpdesk::FindGroup(int64_t id) const { return Lookup(groups, group_index_, id); }
const Contact* Helpdesk::FindContact(int64_t id) const { return Lookup(contacts, contact_index_, id); }
const Company* Helpdesk::FindCompany(int64_t id) const { return Lookup(companies, company_index_, id); }
const Category* Helpdesk::FindCategory(int64_t id) const { return Lookup(categories, category_index_, id); }
const Folder* Helpdesk::FindFolder(int64_t id) const { return Lookup(folders, folder_index_, id); }
const Article* Helpdesk::FindArticle(int64_t id) const { return Lookup(articles, article_index_, id); }

Conversation* Helpdesk::MutableConversation(int64_t id) {
  auto it = conversation_index_.find(id);
  return it == conversation_index_.end() ? nullptr : &conversations[it->second];
}

const Attachment* Helpdesk::FindAttachment(int64_t id) const {
  auto it = attachment_index_.find(id);
  if (it == attachment_index_.end()) return nullptr;
  const AttachmentPlace& place = it->second;
  return place.in_conversation ? &conversations[place.owner].attachments[place.index]
                               : &tickets[place.owner].attachments[place.index];
}

void Helpdesk::BuildIndexes() {
  IndexById(conversations, &conversation_index_);
  attachment_index_.clear();
  for (size_t t = 0; t < tickets.size(); ++t) {
    for (size_t a = 0; a < tickets[t].attachments.size(); ++a)
      attachment_index_.emplace(tickets[t].attachments[a].id, AttachmentPlace{false, t, a});
  }
  for (size_t c = 0; c < conversations.size(); ++c) {
    for (size_t a = 0; a < conversations[c].attachments.size(); ++a)
      attachment_index_.emplace(conversations[c].attachments[a].id, AttachmentPlace{true, c, a});
  }
  IndexById(agents, &agent_index_);
  IndexById(groups, &group_index_);
  IndexById(contacts, &contact_index_);
  IndexById(companies, &company_index_);
  IndexById(categories, &category_index_);
  IndexById(folders, &folder_index_);
  IndexById(articles, &article_index_);
}

}  // namespace deskpipe::emulator
