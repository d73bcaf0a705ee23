// JobTracker: one generation counter and one cancel flag per job kind.
#include "jobtracker.h"

namespace qs::app {

JobTracker::Ticket JobTracker::start(JobKind kind, const QString& label)
{
    cancel(kind);
    Slot& s = slot(kind);
    s.progress = std::make_shared<core::Progress>();
    s.label = label;
    s.permille = -1;
    s.startOrder = ++m_started;
    return Ticket{kind, s.generation, s.progress};
}

bool JobTracker::isCurrent(JobKind kind, uint64_t generation) const
{
    const Slot& s = slot(kind);
    return s.progress != nullptr && s.generation == generation;
}

bool JobTracker::finish(JobKind kind, uint64_t generation)
{
    if (!isCurrent(kind, generation)) return false;
    Slot& s = slot(kind);
    s.progress.reset();
    s.permille = -1;
    ++s.generation; // nothing the finished job still posts is current
    return true;
}

void JobTracker::cancel(JobKind kind)
{
    Slot& s = slot(kind);
    if (s.progress) s.progress->cancelRequested = true;
    s.progress.reset();
    s.permille = -1;
    ++s.generation;
}

void JobTracker::cancelAll()
{
    for (size_t k = 0; k < kJobKinds; ++k) cancel(JobKind(k));
}

bool JobTracker::anyRunning() const
{
    for (const Slot& s : m_slots)
        if (s.progress) return true;
    return false;
}

void JobTracker::setProgress(JobKind kind, uint64_t generation, int permille)
{
    if (isCurrent(kind, generation)) slot(kind).permille = permille;
}

std::optional<JobKind> JobTracker::latestRunning() const
{
    std::optional<JobKind> latest;
    uint64_t order = 0;
    for (size_t k = 0; k < kJobKinds; ++k) {
        if (m_slots[k].progress && m_slots[k].startOrder > order) {
            order = m_slots[k].startOrder;
            latest = JobKind(k);
        }
    }
    return latest;
}

} // namespace qs::app
