#include "account.h"

namespace deskpipe::zendesk_emulator {
namespace {

template <typename T>
const T* Lookup(const std::unordered_map<int64_t, size_t>& index, const std::vector<T>& items, int64_t id) {
  auto it = index.find(id);
  return it == index.end() ? nullptr : &items[it->second];
}

template <typename T>
void Index(const std::vector<T>& items, std::unordered_map<int64_t, size_t>* index) {
  index->clear();
  for (size_t i = 0; i < items.size(); ++i) (*index)[items[i].id] = i;
}

}  // namespace

const User* Account::FindUser(int64_t id) const { return Lookup(user_index_, users, id); }
const Organization* Account::FindOrganization(int64_t id) const {
  return Lookup(organization_index_, organizations, id);
}
const Group* Account::FindGroup(int64_t id) const { return Lookup(group_index_, groups, id); }
const Category* Account::FindCategory(int64_t id) const { return Lookup(category_index_, categories, id); }
const Section* Account::FindSection(int64_t id) const { return Lookup(section_index_, sections, id); }
const Article* Account::FindArticle(int64_t id) const { return Lookup(article_index_, articles, id); }

const Attachment* Account::FindAttachment(int64_t id) const {
  auto it = attachment_index_.find(id);
  if (it == attachment_index_.end()) return nullptr;
  const auto& [ticket, place] = it->second;
  if (ticket >= tickets.size() || tickets[ticket].scrubbed) return nullptr;
  const auto& comments = tickets[ticket].comments;
  if (place.first >= comments.size() || place.second >= comments[place.first].attachments.size())
    return nullptr;
  return &comments[place.first].attachments[place.second];
}

void Account::BuildIndexes() {
  Index(users, &user_index_);
  Index(organizations, &organization_index_);
  Index(groups, &group_index_);
  Index(categories, &category_index_);
  Index(sections, &section_index_);
  Index(articles, &article_index_);
  attachment_index_.clear();
  for (size_t t = 0; t < tickets.size(); ++t) {
    for (size_t c = 0; c < tickets[t].comments.size(); ++c) {
      for (size_t a = 0; a < tickets[t].comments[c].attachments.size(); ++a) {
        attachment_index_[tickets[t].comments[c].attachments[a].id] = {t, {c, a}};
      }
    }
  }
}

}  // namespace deskpipe::zendesk_emulator
